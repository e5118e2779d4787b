//! Delivers queued emails through lettre: SMTP when configured, otherwise as `.eml` files in
//! the outbox folder (the embedded default).

use crate::runner::TaskHandler;
use anyhow::Context;
use futures_util::future::BoxFuture;
use keynet_domain::email::EmailMessage;
use keynet_domain::entities::tasks;
use keynet_domain::tasks::SEND_EMAIL;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// `url` as lettre reads it: `smtp://host:port` (plain), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host` (TLS).
    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Self> {
        Ok(Self {
            from: parse_sender(from)?,
            transport: Transport::Smtp(smtp_transport(url)?.build()),
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the outbox folder {}", dir.display()))?;
        Ok(Self {
            from: parse_sender(from)?,
            transport: Transport::Outbox(AsyncFileTransport::new(dir)),
        })
    }

    /// Checks the email settings without connecting anywhere, so a bad value is refused
    /// when the configuration is read. `Err` names the setting.
    pub fn check_settings(
        smtp_url: Option<&str>,
        from: &str,
    ) -> Result<(), (&'static str, String)> {
        parse_sender(from).map_err(|e| ("email.from", format!("{e:#}")))?;
        if let Some(url) = smtp_url {
            smtp_transport(url).map_err(|e| ("email.smtp_url", format!("{e:#}")))?;
        }
        Ok(())
    }

    pub async fn send(&self, email: &EmailMessage) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse().context("invalid recipient")?)
            .subject(&email.subject)
            .body(email.text())
            .context("cannot build the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("SMTP delivery failed")?;
            }
            Transport::Outbox(outbox) => {
                outbox
                    .send(message)
                    .await
                    .context("cannot write to the outbox")?;
            }
        }
        Ok(())
    }
}

fn parse_sender(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .context("email.from is not a mailbox such as `Keynet <noreply@example.com>`")
}

fn smtp_transport(url: &str) -> anyhow::Result<lettre::transport::smtp::AsyncSmtpTransportBuilder> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .context("email.smtp_url is not an SMTP URL (smtp://host:port, smtps://user:pass@host)")
}

pub struct EmailHandler(pub Mailer);

impl TaskHandler for EmailHandler {
    fn kind(&self) -> &'static str {
        SEND_EMAIL
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let email: EmailMessage =
                serde_json::from_value(task.payload.clone()).context("malformed email task")?;
            self.0.send(&email).await?;
            tracing::info!(subject = %email.subject, "email sent");
            Ok(())
        })
    }

    /// A delivered email's task is deleted; one that could not be delivered is kept for
    /// an operator, but not its one-time link.
    fn dead_payload(&self, payload: &serde_json::Value) -> Option<serde_json::Value> {
        let email: EmailMessage = serde_json::from_value(payload.clone()).ok()?;
        serde_json::to_value(email.without_link()).ok()
    }
}
