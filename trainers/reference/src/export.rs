//! Export jobs: the input checkpoint as an ONNX model, `images [N, 3, H, W]` →
//! `Flatten` → `Gemm` (weights and bias as initializers) → `Softmax` → `probabilities [N, K]`.

use prost::Message;
use serde_json::{Value, json};

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::events::{EventSink, Level};
use crate::failure::Failure;
use crate::model::SoftmaxModel;
use crate::onnx::{
    self, GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, ValueInfoProto,
};

pub const INPUT_NAME: &str = "images";
pub const OUTPUT_NAME: &str = "probabilities";
pub const MODEL_FILE: &str = "model.onnx";

pub fn run(config: &Config, sink: &mut EventSink) -> Result<(), Failure> {
    let format = config
        .export_format
        .as_deref()
        .unwrap_or("onnx")
        .trim()
        .to_ascii_lowercase();
    if format != "onnx" {
        return Err(Failure::new(
            "unsupported_format",
            format!("this trainer exports only to onnx, not {format:?}"),
        ));
    }
    let path = checkpoint::find_input_checkpoint(&config.input_dir)?;
    let checkpoint = Checkpoint::load(&path)?;
    sink.log(
        Level::Info,
        &format!(
            "exporting {} (epoch {}) to ONNX",
            path.display(),
            checkpoint.epoch
        ),
        None,
    )?;
    let model = build_model(&checkpoint.model, &checkpoint.model_name);
    std::fs::create_dir_all(&config.output_dir).map_err(|error| {
        Failure::io(format!(
            "cannot create {}: {error}",
            config.output_dir.display()
        ))
    })?;
    checkpoint::write_atomically(&config.output_dir.join(MODEL_FILE), &model.encode_to_vec())?;
    sink.emit(
        "export_completed",
        json!({
            "format": "onnx",
            "path": MODEL_FILE,
            "metadata": metadata(&checkpoint.model),
        }),
    )?;
    Ok(())
}

/// What a caller needs to feed the model (docs/trainer-contract.md, "Serving an ONNX
/// export"): `input_shape` uses -1 for the free batch size; the resize filter is the one
/// `features::load_features` uses.
pub fn metadata(model: &SoftmaxModel) -> Value {
    let side = i64::from(model.image_size);
    json!({
        "input_shape": [-1, model.channels, side, side],
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "layout": "NCHW",
        "resize": "bilinear",
        "input_range": [0.0, 1.0],
        "output": "probabilities",
        "classes": model.classes,
        "opset": onnx::OPSET_VERSION,
    })
}

pub fn build_model(model: &SoftmaxModel, model_name: &str) -> ModelProto {
    let side = i64::from(model.image_size);
    let classes = model.num_classes() as i64;
    let features = model.input_len() as i64;
    // The runtime computes in f32; the trainer's f64 parameters are rounded once here.
    let weights: Vec<f32> = model.weights.iter().map(|w| *w as f32).collect();
    let bias: Vec<f32> = model.bias.iter().map(|b| *b as f32).collect();
    let graph = GraphProto {
        node: vec![
            onnx::node(
                "Flatten",
                &[INPUT_NAME],
                "flat",
                vec![onnx::int_attribute("axis", 1)],
            ),
            onnx::node(
                "Gemm",
                &["flat", "weight", "bias"],
                "logits",
                vec![
                    onnx::float_attribute("alpha", 1.0),
                    onnx::float_attribute("beta", 1.0),
                    // weight is [K, D]: Y = X · weightᵀ + bias.
                    onnx::int_attribute("transB", 1),
                ],
            ),
            onnx::node(
                "Softmax",
                &["logits"],
                OUTPUT_NAME,
                vec![onnx::int_attribute("axis", 1)],
            ),
        ],
        name: Some(format!("keynet_reference_{}", sanitize(model_name))),
        initializer: vec![
            onnx::float_initializer("weight", &[classes, features], &weights),
            onnx::float_initializer("bias", &[classes], &bias),
        ],
        doc_string: None,
        input: vec![ValueInfoProto {
            name: Some(INPUT_NAME.into()),
            r#type: Some(onnx::float_tensor_type(&[
                Err("N"),
                Ok(model.channels as i64),
                Ok(side),
                Ok(side),
            ])),
            doc_string: Some("RGB, channel-major, values in [0, 1]".into()),
        }],
        output: vec![ValueInfoProto {
            name: Some(OUTPUT_NAME.into()),
            r#type: Some(onnx::float_tensor_type(&[Err("N"), Ok(classes)])),
            doc_string: Some("class probabilities, in the order of the classes metadata".into()),
        }],
    };
    let classes_json = serde_json::to_string(&model.classes).unwrap_or_default();
    ModelProto {
        ir_version: Some(onnx::IR_VERSION),
        producer_name: Some("keynet-reference-trainer".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: None,
        model_version: Some(1),
        doc_string: Some("Softmax regression on downscaled RGB pixels".into()),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(onnx::OPSET_VERSION),
        }],
        metadata_props: vec![StringStringEntryProto {
            key: Some("classes".into()),
            value: Some(classes_json),
        }],
    }
}

/// ONNX graph names are identifiers in practice; keep them that way.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::ClassInfo;
    use crate::onnx::{DimensionValue, TensorProto};
    use crate::rng::SplitMix64;

    fn trained_like_model() -> SoftmaxModel {
        let classes = (0..3)
            .map(|id| ClassInfo {
                id: id * 10,
                name: format!("class {id}"),
            })
            .collect();
        let mut model = SoftmaxModel::new(classes, 4, 3);
        let mut rng = SplitMix64::new(9);
        for value in model.weights.iter_mut().chain(model.bias.iter_mut()) {
            *value = rng.below(2001) as f64 / 1000.0 - 1.0;
        }
        model
    }

    fn initializer<'a>(graph: &'a GraphProto, name: &str) -> &'a TensorProto {
        graph
            .initializer
            .iter()
            .find(|tensor| tensor.name.as_deref() == Some(name))
            .expect("initializer present")
    }

    fn dims(value: &ValueInfoProto) -> Vec<DimensionValue> {
        value
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|shape| shape.dim.iter().filter_map(|d| d.value.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn decodes_back_to_the_expected_graph() {
        let model = trained_like_model();
        let bytes = build_model(&model, "softmax-regression").encode_to_vec();
        let decoded = ModelProto::decode(bytes.as_slice()).expect("decode");
        assert_eq!(decoded.ir_version, Some(onnx::IR_VERSION));
        assert_eq!(decoded.opset_import[0].version, Some(13));
        let graph = decoded.graph.expect("graph");
        let ops: Vec<_> = graph
            .node
            .iter()
            .filter_map(|n| n.op_type.as_deref())
            .collect();
        assert_eq!(ops, vec!["Flatten", "Gemm", "Softmax"]);
        assert_eq!(graph.node[1].input, vec!["flat", "weight", "bias"]);
        assert_eq!(graph.node[2].output, vec![OUTPUT_NAME]);

        let weight = initializer(&graph, "weight");
        assert_eq!(weight.dims, vec![3, 48]);
        assert_eq!(weight.data_type, Some(onnx::DATA_TYPE_FLOAT));
        assert_eq!(onnx::float_values(weight).len(), 3 * 48);
        assert_eq!(initializer(&graph, "bias").dims, vec![3]);

        assert_eq!(
            dims(&graph.input[0]),
            vec![
                DimensionValue::DimParam("N".into()),
                DimensionValue::DimValue(3),
                DimensionValue::DimValue(4),
                DimensionValue::DimValue(4),
            ]
        );
        assert_eq!(
            dims(&graph.output[0]),
            vec![
                DimensionValue::DimParam("N".into()),
                DimensionValue::DimValue(3)
            ]
        );
        let classes = decoded.metadata_props[0].value.as_deref().expect("classes");
        assert!(classes.contains("class 2"));
    }

    /// Evaluates the decoded graph by hand (Flatten, Gemm with transB, Softmax) and
    /// compares with the trainer's own prediction: the export computes the same function.
    #[test]
    fn decoded_initializers_compute_the_trained_function() {
        let model = trained_like_model();
        let bytes = build_model(&model, "m").encode_to_vec();
        let graph = ModelProto::decode(bytes.as_slice())
            .expect("decode")
            .graph
            .expect("graph");
        let weight = onnx::float_values(initializer(&graph, "weight"));
        let bias = onnx::float_values(initializer(&graph, "bias"));
        let mut rng = SplitMix64::new(4);
        let input: Vec<f64> = (0..model.input_len())
            .map(|_| rng.below(256) as f64 / 255.0)
            .collect();
        let logits: Vec<f64> = weight
            .chunks_exact(model.input_len())
            .zip(&bias)
            .map(|(row, b)| {
                f64::from(*b)
                    + row
                        .iter()
                        .zip(&input)
                        .map(|(w, x)| f64::from(*w) * x)
                        .sum::<f64>()
            })
            .collect();
        let exported = crate::model::softmax(&logits);
        let trained = model.probabilities(&input);
        for (a, b) in exported.iter().zip(&trained) {
            assert!((a - b).abs() < 1e-5, "{exported:?} vs {trained:?}");
        }
    }
}
