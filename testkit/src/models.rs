//! Models for serving tests: a detector-shaped ONNX graph whose boxes are known in advance
//! (no trainer in the suite trains detectors), and, with the platform, an export job's
//! artifact replaced by a given model, as a trainer's export would have stored it.

use keynet_reference_trainer::onnx::{
    self, GraphProto, ModelProto, OperatorSetIdProto, ValueInfoProto,
};
use prost::Message;
use serde_json::{Value, json};

pub const DETECTOR_INPUT: &str = "images";
pub const DETECTOR_OUTPUT: &str = "boxes";
/// The detector's classes, by class index.
pub const DETECTOR_CLASSES: [(u32, &str); 2] = [(1, "car"), (7, "person")];

/// A detector of `side`×`side` RGB images: `[N, 3, side, side]` in, `[N, K, 6]` out, every
/// image answered with `boxes` (each `x1, y1, x2, y2, score, class` in the input's pixels,
/// as end-to-end detector exports answer). The output is computed from the input (its
/// brightest channel mean times zero, plus the boxes), so the engine runs the graph on
/// each batch as it runs a real detector.
pub fn detector(side: i64, boxes: &[[f32; 6]]) -> Vec<u8> {
    let rows = boxes.len() as i64;
    let values: Vec<f32> = boxes.iter().flatten().copied().collect();
    let reduce = |op: &str, input: &str, output: &str, axes: &[i64], keep: i64| {
        let attributes = vec![
            onnx::ints_attribute("axes", axes),
            onnx::int_attribute("keepdims", keep),
        ];
        onnx::node(op, &[input], output, attributes)
    };
    let graph = GraphProto {
        node: vec![
            reduce("ReduceMean", DETECTOR_INPUT, "row_means", &[3], 0),
            reduce("ReduceMax", "row_means", "brightest", &[1, 2], 1),
            onnx::node("Mul", &["brightest", "zeros"], "nothing", Vec::new()),
            onnx::node("Add", &["nothing", "fixed"], DETECTOR_OUTPUT, Vec::new()),
        ],
        name: Some("keynet_test_detector".into()),
        initializer: vec![
            onnx::float_initializer("zeros", &[1, rows, 6], &vec![0.0; values.len()]),
            onnx::float_initializer("fixed", &[1, rows, 6], &values),
        ],
        doc_string: None,
        input: vec![ValueInfoProto {
            name: Some(DETECTOR_INPUT.into()),
            r#type: Some(onnx::float_tensor_type(&[
                Err("N"),
                Ok(3),
                Ok(side),
                Ok(side),
            ])),
            doc_string: None,
        }],
        output: vec![ValueInfoProto {
            name: Some(DETECTOR_OUTPUT.into()),
            r#type: Some(onnx::float_tensor_type(&[Err("N"), Ok(rows), Ok(6)])),
            doc_string: None,
        }],
    };
    ModelProto {
        ir_version: Some(onnx::IR_VERSION),
        producer_name: Some("keynet-testkit".into()),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(onnx::OPSET_VERSION),
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

/// The serving metadata of [`detector`]: images fitted by `fit` (`stretch` or
/// `letterbox`), boxes below `score_threshold` dropped.
pub fn detector_metadata(side: i64, fit: &str, score_threshold: f32) -> Value {
    let classes: Vec<Value> = DETECTOR_CLASSES
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    json!({
        "task": "detection",
        "input_name": DETECTOR_INPUT,
        "output_name": DETECTOR_OUTPUT,
        "input_shape": [-1, 3, side, side],
        "fit": fit,
        "score_threshold": score_threshold,
        "classes": classes,
    })
}

/// Replaces the artifact of the export job `export` (blob and row) by the model at `onnx`
/// with `metadata`: a test harness's stand-in for a trainer that exports such a model.
#[cfg(feature = "app")]
pub async fn seed_export(
    domain: &keynet_domain::Domain,
    export: &str,
    onnx: &std::path::Path,
    metadata: &Value,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use keynet_domain::entities::job_artifacts::{self, ArtifactKind};
    use keynet_domain::ids::JobId;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

    let job: JobId = export.parse().context("not a job id")?;
    let artifact = job_artifacts::Entity::find()
        .filter(job_artifacts::Column::JobId.eq(job))
        .filter(job_artifacts::Column::Kind.eq(ArtifactKind::Export))
        .one(domain.db())
        .await?
        .context("the export job has no artifact")?;
    let bytes = std::fs::read(onnx)?;
    let size = domain
        .blobs()
        .put_file(&artifact.blob_key, onnx)
        .await
        .map_err(|e| anyhow::anyhow!("cannot store the model: {e}"))?;
    let mut row = artifact.into_active_model();
    row.metadata = Set(Some(metadata.clone()));
    row.size = Set(i64::try_from(size)?);
    let digest = crate::registry::digest(&bytes);
    row.sha256 = Set(digest.trim_start_matches("sha256:").to_string());
    row.update(domain.db()).await?;
    Ok(())
}
