//! The emails Keynet sends. They are rendered here and queued as tasks; the workers deliver
//! them (SMTP, or files in the outbox folder) with retries.

use crate::error::Result;
use crate::tasks::{SEND_EMAIL, enqueue};
use crate::time::Timestamp;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

/// Stands for [`EmailMessage::link`] in the body.
const LINK: &str = "{link}";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    /// The text, with `{link}` where the link goes.
    pub body: String,
    /// A link that carries a one-time secret (reset, verification, invitation). It is kept
    /// apart from the text so that a task can drop the secret and keep the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl EmailMessage {
    /// The text as sent, with the link in its place.
    pub fn text(&self) -> String {
        match &self.link {
            Some(link) => self.body.replace(LINK, link),
            None => self.body.clone(),
        }
    }

    /// The message without its secret: what is worth keeping of an email that could not be
    /// delivered (the link is of no use to anyone then, and would be to whoever reads it).
    pub fn without_link(self) -> Self {
        Self { link: None, ..self }
    }

    pub(crate) async fn enqueue(self, db: &impl ConnectionTrait) -> Result<()> {
        let payload = serde_json::to_value(&self).map_err(anyhow::Error::from)?;
        enqueue(db, SEND_EMAIL, payload).await?;
        Ok(())
    }
}

pub(crate) fn verification(to: &str, name: &str, link: &str) -> EmailMessage {
    EmailMessage {
        to: to.to_string(),
        link: Some(link.to_string()),
        subject: "Confirm your email address for Keynet".into(),
        body: format!(
            "Hello {name},\n\nplease confirm your email address by opening this link:\n\n{{link}}\n\n\
             The link works once and expires in two days. If you did not sign up for Keynet, \
             ignore this message.\n"
        ),
    }
}

pub(crate) fn password_reset(to: &str, name: &str, link: &str) -> EmailMessage {
    EmailMessage {
        to: to.to_string(),
        link: Some(link.to_string()),
        subject: "Reset your Keynet password".into(),
        body: format!(
            "Hello {name},\n\nsomeone asked to reset the password of this account. To choose a \
             new password, open this link:\n\n{{link}}\n\nThe link works once and expires in one \
             hour. If it was not you, ignore this message; your password stays as it is.\n"
        ),
    }
}

/// How a password came to be replaced, as the notice names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PasswordReplaced {
    /// Changed by someone signed in who knew the old password.
    Changed,
    /// Reset through an emailed link.
    Reset,
}

/// Tells the owner of an account that its password was replaced (ASVS 2.5.5), so someone
/// who did not do it learns of it. It carries no link with a secret.
pub(crate) fn password_replaced(
    to: &str,
    name: &str,
    how: PasswordReplaced,
    at: Timestamp,
    public_url: &str,
) -> EmailMessage {
    let (subject, what) = match how {
        PasswordReplaced::Changed => (
            "Your Keynet password was changed",
            "was changed by someone signed in to your account",
        ),
        PasswordReplaced::Reset => (
            "Your Keynet password was reset",
            "was reset through a link sent to this address",
        ),
    };
    let when = at.format("%Y-%m-%d %H:%M UTC");
    EmailMessage {
        to: to.to_string(),
        link: None,
        subject: subject.into(),
        body: format!(
            "Hello {name},\n\nthe password of your Keynet account ({to}) {what} on {when}. \
             Every session of the account was signed out; sign in again with the new password.\n\n\
             If this was not you, someone else has your password or can read your email. At \
             once: secure this email account, then ask for a password reset on the sign-in page \
             at {public_url}, and tell the administrator of your organization.\n"
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
        link: Some(link.to_string()),
        subject: format!("{inviter} invited you to {org_name} on Keynet"),
        body: format!(
            "Hello,\n\n{inviter} invited you to join the organization \"{org_name}\" on Keynet as \
             {role}.\n\nTo accept, open this link (it works once and expires in seven days):\n\n\
             {{link}}\n"
        ),
    }
}
