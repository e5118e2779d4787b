//! The domain's one error type. `api` maps each variant to a GraphQL `extensions.code` or an
//! HTTP status; nothing else in the workspace does.

use sea_orm::{DbErr, SqlErr};
use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid email or password")]
    BadCredentials,
    /// A bearer credential was sent but is malformed, expired or revoked.
    #[error("the access token or API token is invalid, expired or revoked")]
    CredentialRejected,
    #[error("{0}")]
    Forbidden(String),
    /// Also the answer for ids of another organization, so their existence never leaks.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    InvalidInput {
        /// The input path, e.g. `name` or `hyperparameters.lr`.
        field: Cow<'static, str>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// The organization's plan does not allow it (`quota` names which limit: e.g.
    /// `concurrent_jobs`, `gpu_seconds_per_month`, `payment`).
    #[error("{message}")]
    QuotaExceeded {
        quota: &'static str,
        message: String,
    },
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: i64 },
    #[error("database error")]
    Database(#[from] DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// The blob store failed where the platform expected it to work: an internal error.
    pub fn storage(error: crate::storage::StorageError) -> Self {
        Self::Internal(anyhow::Error::new(error))
    }
}

/// A hyperparameter declaration or value the shared crate refuses is bad input, with its
/// field (`hyperparameters.<name>`) and message as they are, so `?` works on its checks.
impl From<keynet_hyperparameters::Error> for Error {
    fn from(error: keynet_hyperparameters::Error) -> Self {
        Self::invalid(error.field, error.message)
    }
}

/// Turns a unique-key violation into a `Conflict` with a message for the user; the check is
/// the database's, so two concurrent requests cannot both pass it.
pub fn conflict_on_unique(err: DbErr, message: &str) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::conflict(message),
        _ => Error::Database(err),
    }
}
