//! The Keynet reference trainer: a small, real trainer that implements the trainer
//! contract (`docs/trainer-contract.md`): configuration from the environment,
//! DICE datasets, JSON-lines lifecycle events, checkpoints, inference and ONNX export.
//! The model is softmax regression on downscaled RGB pixels: pure Rust, no network, fast
//! enough for tests and compliance runs, deterministic for a seed.

pub mod checkpoint;
pub mod config;
pub mod dataset;
pub mod events;
pub mod export;
pub mod failure;
pub mod features;
pub mod infer;
pub mod model;
pub mod onnx;
pub mod rng;
pub mod synthetic;
pub mod train;

use config::{Config, JobKind};
use events::{EventSink, Level};
use failure::Failure;

/// Runs the job the configuration describes, reporting through `sink`.
pub fn run_job(config: &Config, sink: &mut EventSink) -> Result<(), Failure> {
    for note in &config.notes {
        sink.log(Level::Warning, note, None)?;
    }
    if config.task_type != "classification" {
        return Err(Failure::new(
            "unsupported_task",
            format!(
                "the reference trainer supports TASK_TYPE classification only, not {:?}",
                config.task_type
            ),
        ));
    }
    match config.job_kind {
        JobKind::Training | JobKind::Validation => train::run(config, sink),
        JobKind::Inference => infer::run(config, sink),
        JobKind::Export => export::run(config, sink),
    }
}
