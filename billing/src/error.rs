//! Billing's one error type; `api` maps it to GraphQL and HTTP.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Permissions, missing rows, bad input, quotas: what the domain would say.
    #[error(transparent)]
    Domain(#[from] keynet_domain::Error),
    /// A `Stripe-Signature` that does not verify, is stale, or a body that is not an event.
    #[error("webhook refused: {0}")]
    Webhook(String),
    /// Stripe answered with an error or could not be reached.
    #[error("Stripe: {0}")]
    Stripe(String),
    #[error("Stripe is not configured on this platform")]
    StripeNotConfigured,
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Domain(e.into())
    }
}
