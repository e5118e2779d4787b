//! The runtime's errors: a model or metadata that cannot be served (the deployment fails,
//! with the reason), an input that cannot be predicted (the request gets a 400), and a
//! replica that is full or gone.

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The export's metadata lacks a field or has one the runtime cannot use; `field` names
    /// it as the trainer wrote it (`input_shape`, `classes`, …).
    #[error("the export's metadata field `{field}` {reason}")]
    Metadata { field: String, reason: String },

    /// An inference request (Open Inference Protocol) the model cannot take; `field` names
    /// the part of it to fix (`inputs[0].shape`, `Inference-Header-Content-Length`, …).
    #[error("the request's `{field}` {reason}")]
    Request { field: String, reason: String },

    /// The engine itself cannot be used (ONNX Runtime's library cannot be loaded).
    #[error("{0}")]
    Engine(String),

    /// The engine cannot read the ONNX graph, or it fails on a blank input.
    #[error("the ONNX model cannot be served: {0}")]
    Model(String),

    /// The input is not an image the runtime can read, or not a tensor of the model's shape.
    #[error("{0}")]
    Input(String),

    /// The model failed on a batch (or panicked while running it).
    #[error("the model failed: {0}")]
    Run(String),

    /// The replica's queue is full: the caller should come back later.
    #[error("the replica has {queued} requests waiting, its limit")]
    Overloaded { queued: usize },

    /// The replica stopped before answering.
    #[error("the replica stopped")]
    Stopped,
}

impl Error {
    pub(crate) fn metadata(field: &str, reason: impl Into<String>) -> Self {
        Self::Metadata {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}
