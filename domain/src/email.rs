//! The emails Keynet sends. They are rendered here and queued as tasks; the workers deliver
//! them (SMTP, or files in the outbox folder) with retries.

use crate::error::Result;
use crate::tasks::{SEND_EMAIL, enqueue};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl EmailMessage {
    pub(crate) async fn enqueue(self, db: &impl ConnectionTrait) -> Result<()> {
        let payload = serde_json::to_value(&self).map_err(anyhow::Error::from)?;
        enqueue(db, SEND_EMAIL, payload).await?;
        Ok(())
    }
}

pub(crate) fn verification(to: &str, name: &str, link: &str) -> EmailMessage {
    EmailMessage {
        to: to.to_string(),
        subject: "Confirm your email address for Keynet".into(),
        body: format!(
            "Hello {name},\n\nplease confirm your email address by opening this link:\n\n{link}\n\n\
             The link works once and expires in two days. If you did not sign up for Keynet, \
             ignore this message.\n"
        ),
    }
}

pub(crate) fn password_reset(to: &str, name: &str, link: &str) -> EmailMessage {
    EmailMessage {
        to: to.to_string(),
        subject: "Reset your Keynet password".into(),
        body: format!(
            "Hello {name},\n\nsomeone asked to reset the password of this account. To choose a \
             new password, open this link:\n\n{link}\n\nThe link works once and expires in one \
             hour. If it was not you, ignore this message; your password stays as it is.\n"
        ),
    }
}

pub(crate) fn invitation(
    to: &str,
    inviter: &str,
    org_name: &str,
    role: &str,
    link: &str,
) -> EmailMessage {
    EmailMessage {
        to: to.to_string(),
        subject: format!("{inviter} invited you to {org_name} on Keynet"),
        body: format!(
            "Hello,\n\n{inviter} invited you to join the organization \"{org_name}\" on Keynet as \
             {role}.\n\nTo accept, open this link (it works once and expires in seven days):\n\n\
             {link}\n"
        ),
    }
}
