//! Keynet's model runtime for deployments (the `ONNX` runtime): an exported model, run in
//! process by RTen or, when the host has it, ONNX Runtime ([`Engine`]), behind a queue that
//! batches requests.
//!
//! - [`OnnxModel`]: an ONNX export and the metadata its trainer reported with it
//!   ([`ExportMetadata`]), which says how an image becomes the input tensor (size, channels,
//!   layout, value range, normalisation, resize filter) and what the output means (classes,
//!   probabilities or logits). Prepared that way, an image gets the predictions the trainer's
//!   own inference gives it. Classification models answer their top classes; detection
//!   models (boxes already suppressed, as end-to-end exports give them) answer boxes in the
//!   original image's pixels.
//! - [`Batcher`]: one replica's queue; requests wait at most the queue delay for others to
//!   share a run of the model, in batches of at most the batch size.
//! - [`oip`]: the Open Inference Protocol's requests and responses for such a model, the
//!   binary tensor data extension included (what `tritonclient` speaks).

mod batcher;
mod engine;
mod error;
mod metadata;
mod model;
pub mod oip;
mod predictions;
mod prepare;

pub use batcher::{BatchSettings, BatchStats, Batcher};
pub use engine::Engine;
pub use error::Error;
pub use metadata::{ClassLabel, ExportMetadata, Fit, Layout, OutputKind, ResizeFilter, Task};
pub use model::OnnxModel;
pub use predictions::{BoxPrediction, Prediction, Predictions};
pub use prepare::{Frame, Prepared};
