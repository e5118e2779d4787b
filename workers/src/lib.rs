//! Background work: the task runner that claims queued tasks from the database, and the
//! handlers that do them: email delivery, dataset imports and job attempts (on the Docker
//! or the process executor); billing's periodic work and the expiry of unused upload keys.

pub mod billing_sync;
pub mod blobs;
mod completions;
pub mod executor;
pub mod imports;
pub mod jobs;
pub mod mailer;
pub mod queue;
pub mod runner;
pub mod serving;
pub mod trainer_checks;
pub mod upload_expiry;

pub use blobs::CollectBlobsHandler;
pub use imports::ImportHandler;
pub use jobs::{JobHandler, JobRunnerConfig, TrainerImages};
pub use mailer::{EmailHandler, Mailer};
pub use runner::{RunnerConfig, TaskHandler, TaskRunner};
pub use trainer_checks::TrainerCheckHandler;
