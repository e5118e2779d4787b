//! The hyperparameters a trainer declares (extracted from its argparse by `keynet-train`, or
//! given at registration), the checks of a declaration and of a job's values against it,
//! and the flags the trainer receives. One declaration for both sides: the server checks
//! with these functions, and `keynet-train` runs the same ones on what it extracts so that
//! it skips a parameter the server would refuse instead of failing the whole push.
//!
//! No database or server dependency, so the CLI builds without them; the `sea-orm` feature
//! (off by default, enabled by the domain only) lets a schema be stored in a JSON column.

mod changes;
mod error;
mod job;
mod schema;
mod value;

#[cfg(test)]
mod tests;

pub use changes::{ChangeKind, ParameterChange, changes};
pub use error::Error;
pub use job::as_flags;
pub use schema::{HyperParameter, HyperParameterSchema, ParamType, Refusal, check_name};
pub use value::ValueError;

// The platform's limits, public so that a client words its own messages with them.

/// Parameters one schema may declare.
pub const MAX_PARAMETERS: usize = 200;
/// Bytes of a name (names are ASCII).
pub const MAX_NAME: usize = 64;
/// Characters of a help text.
pub const MAX_HELP: usize = 1000;
/// Choices of one parameter.
pub const MAX_CHOICES: usize = 100;
/// Characters of a STR value (a default, a choice or a job's value).
pub const MAX_STRING_VALUE: usize = 4096;
