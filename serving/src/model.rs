//! An ONNX export, loaded once by RTen (a pure-Rust engine whose convolutions run on a pool
//! of threads, so one request uses several cores), and the predictions it makes.

use crate::Error;
use crate::metadata::{ExportMetadata, OutputKind, Task};
use crate::predictions::BOX_VALUES;
use rten::{Model, ModelOptions, NodeId, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, Tensor};
use serde_json::Value;
use std::sync::Arc;

/// Threads for running a model: a replica's own, sized by its resources.
#[derive(Clone)]
pub(crate) struct Threads(Arc<ThreadPool>);

impl Threads {
    pub fn new(count: usize) -> Self {
        Self(Arc::new(ThreadPool::with_num_threads(count.max(1))))
    }
}

pub struct OnnxModel {
    model: Model,
    input: NodeId,
    output: NodeId,
    metadata: ExportMetadata,
}

impl OnnxModel {
    /// Reads the model and finds the input and output the metadata names, then runs it once
    /// on a blank image: a model of another input shape, or whose output is not what its
    /// task needs (one score per class; boxes of six values), is refused here, not at the
    /// first request.
    pub fn load(onnx: &[u8], metadata: &Value) -> Result<Self, Error> {
        let metadata = ExportMetadata::parse(metadata)?;
        let mut options = ModelOptions::with_all_ops();
        // Weights packed once in the layout the matrix kernels read, instead of on each run:
        // more memory per replica, less time per request.
        options.prepack_weights(true);
        let model = options
            .load(onnx.to_vec())
            .map_err(|e| Error::Model(e.to_string()))?;
        let name_of = |id: NodeId| {
            model
                .node_info(id)
                .and_then(|node| node.name())
                .unwrap_or("(unnamed)")
                .to_string()
        };
        let input = match model.input_ids() {
            [input] => *input,
            inputs => {
                return Err(Error::Model(format!(
                    "the model takes {} inputs; an image model takes one",
                    inputs.len()
                )));
            }
        };
        if name_of(input) != metadata.input_name {
            return Err(Error::metadata(
                "input_name",
                format!(
                    "names no input of the model (its input is `{}`)",
                    name_of(input)
                ),
            ));
        }
        let output = model
            .output_ids()
            .iter()
            .copied()
            .find(|id| name_of(*id) == metadata.output_name)
            .ok_or_else(|| {
                let names: Vec<String> = model
                    .output_ids()
                    .iter()
                    .map(|id| format!("`{}`", name_of(*id)))
                    .collect();
                Error::metadata(
                    "output_name",
                    format!("names no output of the model (it has {})", names.join(", ")),
                )
            })?;
        Self {
            model,
            input,
            output,
            metadata,
        }
        .checked()
    }

    fn checked(self) -> Result<Self, Error> {
        let blank = vec![0.0; self.metadata.input_len()];
        let scores = self.run(&[blank]).map_err(|e| match e {
            Error::Run(reason) => Error::Model(reason),
            other => other,
        })?;
        let classes = self.metadata.classes.len();
        if self.metadata.task == Task::Classification && scores[0].len() != classes {
            return Err(Error::metadata(
                "classes",
                format!(
                    "lists {classes} classes but the model's output has {} scores",
                    scores[0].len()
                ),
            ));
        }
        Ok(self)
    }

    pub fn metadata(&self) -> &ExportMetadata {
        &self.metadata
    }

    /// Runs the model on a batch of inputs (each [`ExportMetadata::input_len`] values) on
    /// RTen's process-wide threads (one per core) and returns each one's row: class
    /// probabilities, or `K × 6` box values.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, Error> {
        self.run_on(inputs, None)
    }

    /// [`Self::run`] on `threads`, else on the process-wide ones.
    pub(crate) fn run_on(
        &self,
        inputs: &[Vec<f32>],
        threads: Option<&Threads>,
    ) -> Result<Vec<Vec<f32>>, Error> {
        let item = self.metadata.input_len();
        if let Some(wrong) = inputs.iter().find(|input| input.len() != item) {
            return Err(Error::Input(format!(
                "an input has {} values; the model takes {item}",
                wrong.len()
            )));
        }
        let [a, b, c] = self.metadata.item_shape();
        let batch = NdTensor::from_data([inputs.len(), a, b, c], inputs.concat());
        let run_error = |e: &dyn std::fmt::Display| Error::Run(e.to_string());
        let [output] = self
            .model
            .run_n(
                vec![(self.input, batch.into())],
                [self.output],
                Some(run_options(threads)),
            )
            .map_err(|e| run_error(&e))?;
        let scores: Tensor<f32> = output
            .try_into()
            .map_err(|e: rten::TryFromValueError| run_error(&e))?;
        check_shape(scores.shape(), inputs.len(), self.metadata.task)?;
        let scores = scores.into_data();
        let per_input = scores.len() / inputs.len().max(1);
        let rows = scores
            .chunks(per_input.max(1))
            .map(|row| match (self.metadata.task, self.metadata.output) {
                (Task::Classification, OutputKind::Logits) => softmax(row),
                _ => row.to_vec(),
            })
            .collect();
        Ok(rows)
    }
}

/// One row per input; for detection, rows of `[K, 6]` boxes.
fn check_shape(shape: &[usize], inputs: usize, task: Task) -> Result<(), Error> {
    let fits = match (task, shape) {
        (_, [batch, ..]) if *batch != inputs => false,
        (Task::Classification, [_, ..]) => true,
        (Task::Detection, [_, _, values]) => *values == BOX_VALUES,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let wanted = match task {
        Task::Classification => format!("one row per input ([{inputs}, classes])"),
        Task::Detection => {
            format!("[{inputs}, boxes, {BOX_VALUES}] (x1, y1, x2, y2, score, class)")
        }
    };
    Err(Error::Run(format!(
        "the output's shape {shape:?} is not {wanted}"
    )))
}

fn run_options(threads: Option<&Threads>) -> RunOptions {
    let mut options = RunOptions::default();
    options.thread_pool = threads.map(|threads| Arc::clone(&threads.0));
    options
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|logit| (logit - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|value| value / sum).collect()
}
