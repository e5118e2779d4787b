//! An ONNX export, planned once by tract with a free batch dimension, and the predictions
//! it makes.

use crate::Error;
use crate::metadata::{ExportMetadata, OutputKind};
use serde_json::Value;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub struct OnnxModel {
    plan: Arc<TypedRunnableModel>,
    metadata: ExportMetadata,
}

impl OnnxModel {
    /// Reads, types and plans the model for the input and output the metadata names, then
    /// runs it once on a blank image: a model whose output does not have one score per
    /// class is refused here, not at the first request.
    pub fn load(onnx: &[u8], metadata: &Value) -> Result<Self, Error> {
        let metadata = ExportMetadata::parse(metadata)?;
        let model_error = |e: TractError| Error::Model(format!("{e:#}"));
        let mut graph = tract_onnx::onnx()
            .model_for_read(&mut &*onnx)
            .map_err(model_error)?;
        let inputs = graph.input_outlets().map_err(model_error)?.to_vec();
        if inputs.len() != 1 {
            return Err(Error::Model(format!(
                "the model takes {} inputs; an image model takes one",
                inputs.len()
            )));
        }
        if label(&graph, inputs[0]) != metadata.input_name {
            return Err(Error::metadata(
                "input_name",
                format!(
                    "names no input of the model (its input is `{}`)",
                    label(&graph, inputs[0])
                ),
            ));
        }
        let batch = graph.sym("N");
        let [a, b, c] = metadata.item_shape();
        let shape: [TDim; 4] = [batch.into(), a.into(), b.into(), c.into()];
        graph
            .set_input_fact(0, f32::fact(shape).into())
            .map_err(model_error)?;
        let outputs = graph.output_outlets().map_err(model_error)?.to_vec();
        let output = outputs
            .iter()
            .find(|outlet| label(&graph, **outlet) == metadata.output_name)
            .copied()
            .ok_or_else(|| {
                let names: Vec<String> = outputs
                    .iter()
                    .map(|outlet| format!("`{}`", label(&graph, *outlet)))
                    .collect();
                Error::metadata(
                    "output_name",
                    format!("names no output of the model (it has {})", names.join(", ")),
                )
            })?;
        graph
            .with_output_outlets(&[output])
            .and_then(|graph| graph.into_optimized())
            .and_then(|graph| graph.into_runnable())
            .map_err(model_error)
            .map(|plan| Self { plan, metadata })
            .and_then(Self::checked)
    }

    fn checked(self) -> Result<Self, Error> {
        let blank = vec![0.0; self.metadata.input_len()];
        let scores = self.run(&[blank]).map_err(|e| match e {
            Error::Run(reason) => Error::Model(reason),
            other => other,
        })?;
        let classes = self.metadata.classes.len();
        if scores[0].len() != classes {
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

    /// Runs the model on a batch of inputs (each [`ExportMetadata::input_len`] values) and
    /// returns each one's class probabilities.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, Error> {
        let item = self.metadata.input_len();
        if let Some(wrong) = inputs.iter().find(|input| input.len() != item) {
            return Err(Error::Input(format!(
                "an input has {} values; the model takes {item}",
                wrong.len()
            )));
        }
        let [a, b, c] = self.metadata.item_shape();
        let values: Vec<f32> = inputs.concat();
        let tensor = Tensor::from_shape(&[inputs.len(), a, b, c], &values)
            .map_err(|e| Error::Run(format!("{e:#}")))?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| Error::Run(format!("{e:#}")))?;
        let scores = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| Error::Run(format!("{e:#}")))?;
        let scores: Vec<f32> = scores.iter().copied().collect();
        let per_input = scores.len() / inputs.len().max(1);
        let rows = scores
            .chunks(per_input.max(1))
            .map(|row| match self.metadata.output {
                OutputKind::Probabilities => row.to_vec(),
                OutputKind::Logits => softmax(row),
            })
            .collect();
        Ok(rows)
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|logit| (logit - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|value| value / sum).collect()
}

/// An outlet's name in the ONNX graph (the value's name), else its node's.
fn label(graph: &InferenceModel, outlet: OutletId) -> String {
    graph
        .outlet_label(outlet)
        .unwrap_or(&graph.node(outlet.node).name)
        .to_string()
}
