//! The marketplace's one error type: the domain's errors as they are, plus the registry's
//! refusals with the OCI distribution code its clients understand. `api` maps both.

use crate::registry::RegistryCode;
use keynet_domain::Error as DomainError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A registry request refused, with the OCI distribution code its clients understand.
    #[error("{message}")]
    Registry { code: RegistryCode, message: String },
}

impl Error {
    /// Something that should have worked did not: an internal error.
    pub(crate) fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Domain(DomainError::Internal(cause.into()))
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Domain(DomainError::Database(e))
    }
}

impl From<keynet_hyperparameters::Error> for Error {
    fn from(e: keynet_hyperparameters::Error) -> Self {
        Self::Domain(e.into())
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Self::Domain(DomainError::Internal(e))
    }
}
