//! Background work: the task runner that claims queued tasks from the database, and the
//! handlers that do them (email delivery now; jobs, scans and syncs in later modules).

pub mod imports;
pub mod mailer;
pub mod queue;
pub mod runner;

pub use imports::ImportHandler;
pub use mailer::{EmailHandler, Mailer};
pub use runner::{RunnerConfig, TaskHandler, TaskRunner};
