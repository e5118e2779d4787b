//! `keynet-train`, the trainer author's command line: sign in, check a `train.py`, build
//! its image, push it to Keynet's registry with an upload key, and follow the checks.

pub mod api;
pub mod args;
pub mod client;
pub mod commands;
pub mod config;
pub mod context;
pub mod engine;
pub mod entrypoint;
pub mod error;
pub mod labels;
pub mod progress;
