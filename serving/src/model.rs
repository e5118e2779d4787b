//! An ONNX export, loaded once by its engine (RTen, or ONNX Runtime when the host has it;
//! both run one request's convolutions on several threads), and the rows it answers.

use crate::Error;
use crate::engine::Engine;
use crate::metadata::{ExportMetadata, OutputKind, Task};
use crate::predictions::BOX_VALUES;
use ort::environment::Environment;
use ort::session::Session;
use rten::{Model, ModelOptions, NodeId, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, Tensor};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What one replica's batches run on, sized by its CPUs: its own RTen threads, or its own
/// ONNX Runtime session (whose threads are fixed when it is made).
pub(crate) enum Runner {
    Threads(Arc<ThreadPool>),
    Session(Mutex<Session>),
}

pub struct OnnxModel {
    graph: Graph,
    metadata: ExportMetadata,
}

/// The loaded graph, by engine.
enum Graph {
    Rten {
        model: Box<Model>,
        input: NodeId,
        output: NodeId,
    },
    /// `session` runs on `threads` threads, one per core; the model's bytes stay for the
    /// sessions of replicas that get fewer.
    OnnxRuntime {
        onnx: Vec<u8>,
        environment: Environment,
        session: Mutex<Session>,
        threads: usize,
    },
}

impl OnnxModel {
    /// [`Self::load_on`] RTen.
    pub fn load(onnx: &[u8], metadata: &Value) -> Result<Self, Error> {
        Self::load_on(&Engine::Rten, onnx, metadata)
    }

    /// Reads the model on `engine` and finds the input and output the metadata names, then
    /// runs it once on a blank image: a model of another input shape, or whose output is
    /// not what its task needs (one score per class; boxes of six values), is refused here,
    /// not at the first request.
    pub fn load_on(engine: &Engine, onnx: &[u8], metadata: &Value) -> Result<Self, Error> {
        let metadata = ExportMetadata::parse(metadata)?;
        let graph = match engine {
            Engine::Rten => rten_graph(onnx, &metadata)?,
            Engine::OnnxRuntime(environment) => {
                let threads = std::thread::available_parallelism().map_or(1, |cores| cores.get());
                let session = ort_session(environment, onnx, threads)?;
                let names = |outlets: &[ort::value::Outlet]| {
                    outlets.iter().map(|o| o.name().to_string()).collect()
                };
                check_names(&metadata, names(session.inputs()), names(session.outputs()))?;
                Graph::OnnxRuntime {
                    onnx: onnx.to_vec(),
                    environment: environment.clone(),
                    session: Mutex::new(session),
                    threads,
                }
            }
        };
        Self { graph, metadata }.checked()
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

    /// What a replica's batches run on: `threads` of its own. `None`: the model's own
    /// session, when it has that many threads already (no second copy of the weights), or
    /// should ONNX Runtime fail to make a second session of a model it loaded.
    pub(crate) fn runner(&self, threads: usize) -> Option<Runner> {
        let threads = threads.max(1);
        match &self.graph {
            Graph::Rten { .. } => Some(Runner::Threads(Arc::new(ThreadPool::with_num_threads(
                threads,
            )))),
            Graph::OnnxRuntime { threads: own, .. } if *own == threads => None,
            Graph::OnnxRuntime {
                onnx, environment, ..
            } => match ort_session(environment, onnx, threads) {
                Ok(session) => Some(Runner::Session(Mutex::new(session))),
                Err(error) => {
                    tracing::warn!(error = %error, "a replica's own ONNX Runtime session could not be made; it runs on the model's");
                    None
                }
            },
        }
    }

    /// Runs the model on a batch of inputs (each [`ExportMetadata::input_len`] values) on
    /// one thread per core and returns each one's row: class
    /// probabilities, or `K × 6` box values.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, Error> {
        self.run_on(inputs, None)
    }

    /// [`Self::run`] on a replica's `runner`, else on the default threads.
    pub(crate) fn run_on(
        &self,
        inputs: &[Vec<f32>],
        runner: Option<&Runner>,
    ) -> Result<Vec<Vec<f32>>, Error> {
        let item = self.metadata.input_len();
        if let Some(wrong) = inputs.iter().find(|input| input.len() != item) {
            return Err(Error::Input(format!(
                "an input has {} values; the model takes {item}",
                wrong.len()
            )));
        }
        let [a, b, c] = self.metadata.item_shape();
        let shape = [inputs.len(), a, b, c];
        let (output_shape, values) = match &self.graph {
            Graph::Rten {
                model,
                input,
                output,
            } => {
                let threads = match runner {
                    Some(Runner::Threads(pool)) => Some(Arc::clone(pool)),
                    _ => None,
                };
                run_rten(model, *input, *output, shape, inputs.concat(), threads)?
            }
            Graph::OnnxRuntime { session, .. } => {
                let session = match runner {
                    Some(Runner::Session(own)) => own,
                    _ => session,
                };
                let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
                run_ort(&mut session, &self.metadata, shape, inputs.concat())?
            }
        };
        check_shape(&output_shape, inputs.len(), self.metadata.task)?;
        let per_input = values.len() / inputs.len().max(1);
        let rows = values
            .chunks(per_input.max(1))
            .map(|row| match (self.metadata.task, self.metadata.output) {
                (Task::Classification, OutputKind::Logits) => softmax(row),
                _ => row.to_vec(),
            })
            .collect();
        Ok(rows)
    }
}

fn rten_graph(onnx: &[u8], metadata: &ExportMetadata) -> Result<Graph, Error> {
    let mut options = ModelOptions::with_all_ops();
    // Weights packed once in the layout the matrix kernels read, instead of on each run:
    // more memory per replica, less time per request.
    options.prepack_weights(true);
    let model = options
        .load(onnx.to_vec())
        .map_err(|e| Error::Model(e.to_string()))?;
    let name_of = |id: &NodeId| {
        model
            .node_info(*id)
            .and_then(|node| node.name())
            .unwrap_or("(unnamed)")
            .to_string()
    };
    let inputs: Vec<String> = model.input_ids().iter().map(name_of).collect();
    let outputs: Vec<String> = model.output_ids().iter().map(name_of).collect();
    let output_at = check_names(metadata, inputs, outputs)?;
    Ok(Graph::Rten {
        input: model.input_ids()[0],
        output: model.output_ids()[output_at],
        model: Box::new(model),
    })
}

/// Checks that the graph takes one input, the metadata's, and has the metadata's output;
/// returns that output's position.
fn check_names(
    metadata: &ExportMetadata,
    inputs: Vec<String>,
    outputs: Vec<String>,
) -> Result<usize, Error> {
    let [input] = &inputs[..] else {
        return Err(Error::Model(format!(
            "the model takes {} inputs; an image model takes one",
            inputs.len()
        )));
    };
    if *input != metadata.input_name {
        return Err(Error::metadata(
            "input_name",
            format!("names no input of the model (its input is `{input}`)"),
        ));
    }
    outputs
        .iter()
        .position(|name| *name == metadata.output_name)
        .ok_or_else(|| {
            let names: Vec<String> = outputs.iter().map(|name| format!("`{name}`")).collect();
            Error::metadata(
                "output_name",
                format!("names no output of the model (it has {})", names.join(", ")),
            )
        })
}

fn ort_session(environment: &Environment, onnx: &[u8], threads: usize) -> Result<Session, Error> {
    let refused = |e: ort::Error| Error::Model(e.to_string());
    Session::builder(environment)
        .map_err(refused)?
        .with_intra_threads(threads)
        .map_err(|e| refused(e.into()))?
        .commit_from_memory(onnx)
        .map_err(refused)
}

fn run_rten(
    model: &Model,
    input: NodeId,
    output: NodeId,
    shape: [usize; 4],
    values: Vec<f32>,
    threads: Option<Arc<ThreadPool>>,
) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let run_error = |e: &dyn std::fmt::Display| Error::Run(e.to_string());
    let batch = NdTensor::from_data(shape, values);
    let mut options = RunOptions::default();
    options.thread_pool = threads;
    let [output] = model
        .run_n(vec![(input, batch.into())], [output], Some(options))
        .map_err(|e| run_error(&e))?;
    let scores: Tensor<f32> = output
        .try_into()
        .map_err(|e: rten::TryFromValueError| run_error(&e))?;
    Ok((scores.shape().to_vec(), scores.into_data()))
}

fn run_ort(
    session: &mut Session,
    metadata: &ExportMetadata,
    shape: [usize; 4],
    values: Vec<f32>,
) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let run_error = |e: ort::Error| Error::Run(e.to_string());
    let batch = ort::value::Tensor::from_array((shape, values)).map_err(run_error)?;
    let outputs = session
        .run(ort::inputs![metadata.input_name.as_str() => batch])
        .map_err(run_error)?;
    let output = outputs
        .get(metadata.output_name.as_str())
        .ok_or_else(|| Error::Run(format!("no output `{}`", metadata.output_name)))?;
    let (shape, values) = output.try_extract_tensor::<f32>().map_err(run_error)?;
    let shape = shape
        .iter()
        .map(|dim| usize::try_from(*dim).unwrap_or(0))
        .collect();
    Ok((shape, values.to_vec()))
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

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|logit| (logit - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|value| value / sum).collect()
}
