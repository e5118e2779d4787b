//! ONNX Runtime as the engine (the library of the clients' `onnxruntime` wheel): the same
//! rows as RTen for a classifier and a detector, alone and batched on a replica's own
//! session; the same refusals of unusable exports; a library that cannot be loaded refused
//! with its path.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use futures_util::future::join_all;
use image::ImageFormat;
use keynet_serving::{Batcher, Engine, Error, OnnxModel};
use keynet_testkit::clients::{clients_python, onnxruntime_library};
use keynet_testkit::models::{detector, detector_metadata};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{batch_settings, encoded, export_of, picture, reference_model};

fn onnxruntime() -> Engine {
    Engine::onnxruntime(&onnxruntime_library(&clients_python())).unwrap()
}

fn inputs(model: &OnnxModel, count: u32) -> Vec<Vec<f32>> {
    (0..count)
        .map(|seed| {
            let image = encoded(&picture(30, 20, seed), ImageFormat::Png);
            model.metadata().prepare(&image).unwrap().input
        })
        .collect()
}

fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>]) {
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }
}

fn both(onnx: &[u8], metadata: &Value) -> (OnnxModel, OnnxModel) {
    (
        OnnxModel::load(onnx, metadata).unwrap(),
        OnnxModel::load_on(&onnxruntime(), onnx, metadata).unwrap(),
    )
}

#[test]
fn both_engines_answer_the_same_rows() {
    let (onnx, metadata) = export_of(&reference_model());
    let (rten, ort) = both(&onnx, &metadata);
    let batch = inputs(&rten, 5);
    assert_close(&rten.run(&batch).unwrap(), &ort.run(&batch).unwrap());
    assert_close(
        &rten.run(&batch[..1]).unwrap(),
        &ort.run(&batch[..1]).unwrap(),
    );

    // Logits get the same softmax.
    let mut logits = metadata.clone();
    logits["output"] = json!("logits");
    let (rten, ort) = both(&onnx, &logits);
    assert_close(&rten.run(&batch).unwrap(), &ort.run(&batch).unwrap());

    let boxes = [[8.0, 4.0, 24.0, 20.0, 0.9, 1.0], [0.0; 6]];
    let (rten, ort) = both(
        &detector(32, &boxes),
        &detector_metadata(32, "letterbox", 0.25),
    );
    let batch = inputs(&rten, 3);
    let rows = ort.run(&batch).unwrap();
    assert_close(&rten.run(&batch).unwrap(), &rows);
    assert_eq!(rows[2][..6], boxes[0]);
}

#[tokio::test]
async fn a_replica_runs_its_batches_on_its_own_session() {
    let (onnx, metadata) = export_of(&reference_model());
    let model = Arc::new(OnnxModel::load_on(&onnxruntime(), &onnx, &metadata).unwrap());
    let settings = batch_settings(4, Duration::from_millis(5), 100);
    let batcher = Batcher::start(Arc::clone(&model), settings);
    let inputs = inputs(&model, 6);
    let answers = join_all(inputs.iter().map(|input| batcher.infer(input.clone()))).await;
    let answers: Vec<Vec<f32>> = answers.into_iter().map(Result::unwrap).collect();
    assert_close(&answers, &model.run(&inputs).unwrap());
    assert_eq!(batcher.stats().batches_by_size(), vec![0, 0, 1, 0, 1]);
}

#[test]
fn exports_that_cannot_be_served_are_refused_as_on_rten() {
    let engine = onnxruntime();
    let (onnx, metadata) = export_of(&reference_model());
    let mut wrong_input = metadata.clone();
    wrong_input["input_name"] = json!("pixels");
    let mut wrong_output = metadata.clone();
    wrong_output["output_name"] = json!("scores");
    let mut too_few = metadata.clone();
    too_few["classes"] = json!([{"id": 1, "name": "a"}]);
    for (metadata, field) in [
        (wrong_input, "input_name"),
        (wrong_output, "output_name"),
        (too_few, "classes"),
    ] {
        match OnnxModel::load_on(&engine, &onnx, &metadata) {
            Err(Error::Metadata { field: named, .. }) => assert_eq!(named, field),
            other => panic!("{field}: {:?}", other.err()),
        }
    }
    let mut detection = metadata.clone();
    detection["task"] = json!("detection");
    for (bytes, metadata) in [
        (&onnx[..onnx.len() / 2], &metadata),
        (&b"not a model"[..], &metadata),
        (&onnx[..], &detection),
    ] {
        match OnnxModel::load_on(&engine, bytes, metadata) {
            Err(Error::Model(reason)) => assert!(!reason.is_empty()),
            other => panic!("{:?}", other.err()),
        }
    }
}

#[test]
fn a_library_that_cannot_be_loaded_is_refused_with_its_path() {
    // Whether another test loaded the real library first or not, the path is named.
    let missing = Path::new("/nonexistent/libonnxruntime.so");
    match Engine::onnxruntime(missing) {
        Err(Error::Engine(reason)) => assert!(reason.contains("/nonexistent"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The real one still loads after, and once loaded it is the process's only one.
    assert_eq!(onnxruntime().name(), "ONNX Runtime");
    match Engine::onnxruntime(missing) {
        Err(Error::Engine(reason)) => assert!(reason.contains("already loaded"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
