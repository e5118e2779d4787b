//! The one error type of the trainer: everything that stops a job becomes a `failed` event
//! with an `error_type` the platform can group on, so each failure carries one.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Short machine-readable kind: `config`, `unsupported_task`, `dataset`, `checkpoint`,
    /// `unsupported_format`, `io`, `internal`.
    pub error_type: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new("config", message)
    }

    pub fn dataset(message: impl Into<String>) -> Self {
        Self::new("dataset", message)
    }

    pub fn checkpoint(message: impl Into<String>) -> Self {
        Self::new("checkpoint", message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new("io", message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for Failure {}

/// Only event writes reach `?` unmapped; every other I/O error is mapped with its path.
impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::io(format!("i/o error: {error}"))
    }
}
