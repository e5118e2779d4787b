//! Keynet's model runtime for deployments (the `ONNX` runtime): an exported model, run in
//! process by RTen, behind a queue that batches requests.
//!
//! - [`OnnxModel`]: an ONNX export and the metadata its trainer reported with it
//!   ([`ExportMetadata`]), which says how an image becomes the input tensor (size, channels,
//!   layout, value range, normalisation, resize filter) and what the output means (classes,
//!   probabilities or logits). Prepared that way, an image gets the predictions the trainer's
//!   own inference gives it.
//! - [`Batcher`]: one replica's queue; requests wait at most the queue delay for others to
//!   share a run of the model, in batches of at most the batch size.
//! - [`oip`]: the Open Inference Protocol's requests and responses for such a model, the
//!   binary tensor data extension included (what `tritonclient` speaks).

mod batcher;
mod error;
mod metadata;
mod model;
pub mod oip;
mod prepare;

pub use batcher::{BatchSettings, BatchStats, Batcher};
pub use error::Error;
pub use metadata::{ClassLabel, ExportMetadata, Layout, OutputKind, Prediction, ResizeFilter};
pub use model::OnnxModel;
