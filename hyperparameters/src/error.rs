use std::fmt::Display;

/// A declaration or a job's values the platform refuses: the input path of what is wrong
/// (`hyperparameters` for the declaration as a whole, `hyperparameters.<name>` for one
/// value) and why. The domain turns it into its `InvalidInput` with the same field and
/// message, which GraphQL reports as `BAD_USER_INPUT`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
// The message alone, as the domain's `InvalidInput` shows it: callers put it in sentences
// of their own ("the declared hyperparameters cannot be filled: …").
#[error("{message}")]
pub struct Error {
    pub field: String,
    pub message: String,
}

impl Error {
    pub(crate) fn new(field: impl Into<String>, message: impl Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}
