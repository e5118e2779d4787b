//! The runtime against the reference trainer's own export and inference: the same model and
//! image give the same classes and the same scores (within 1e-4), and what cannot be served
//! is refused with the field or input named.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use futures_util::future::join_all;
use image::ImageFormat;
use keynet_serving::{Batcher, Error, OnnxModel};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{
    SIDE, batch_settings, encoded, export_of, picture, reference_model, trainer_probabilities,
};

#[test]
fn predictions_equal_the_trainers_own_inference() {
    let model = reference_model();
    let (onnx, metadata) = export_of(&model);
    let served = OnnxModel::load(&onnx, &metadata).unwrap();
    let images = [
        (encoded(&picture(40, 30, 1), ImageFormat::Png), "png"),
        (encoded(&picture(17, 64, 2), ImageFormat::Png), "png"),
        (encoded(&picture(300, 200, 3), ImageFormat::Jpeg), "jpg"),
        (encoded(&picture(1, 1, 4), ImageFormat::Bmp), "bmp"),
    ];
    let inputs: Vec<Vec<f32>> = images
        .iter()
        .map(|(bytes, _)| served.metadata().prepare(bytes).unwrap().input)
        .collect();
    // One batch of all of them, as the batcher runs them.
    let served_rows = served.run(&inputs).unwrap();
    for ((bytes, extension), served_row) in images.iter().zip(&served_rows) {
        let expected = trainer_probabilities(&model, bytes, extension);
        assert_eq!(served_row.len(), expected.len());
        for (served, expected) in served_row.iter().zip(&expected) {
            assert!(
                (f64::from(*served) - expected).abs() < 1e-4,
                "{extension}: {served_row:?} vs {expected:?}"
            );
        }
        let mut ranked: Vec<usize> = (0..expected.len()).collect();
        ranked.sort_by(|a, b| expected[*b].total_cmp(&expected[*a]));
        let top: Vec<u32> = served
            .metadata()
            .top_k(served_row, 3)
            .iter()
            .map(|prediction| prediction.class_id)
            .collect();
        let trainer_top: Vec<u32> = ranked[..3]
            .iter()
            .map(|index| model.classes[*index].id)
            .collect();
        assert_eq!(top, trainer_top);
    }
}

#[test]
fn logits_get_a_softmax_and_normalisation_is_applied() {
    let model = reference_model();
    let (onnx, mut metadata) = export_of(&model);
    let image = encoded(&picture(20, 20, 5), ImageFormat::Png);
    let plain = OnnxModel::load(&onnx, &metadata).unwrap();
    let plain_input = plain.metadata().prepare(&image).unwrap().input;

    metadata["input_range"] = json!([0, 255]);
    metadata["mean"] = json!([10.0, 20.0, 30.0]);
    metadata["std"] = json!([255.0, 255.0, 255.0]);
    metadata["output"] = json!("logits");
    let normalised = OnnxModel::load(&onnx, &metadata).unwrap();
    let input = normalised.metadata().prepare(&image).unwrap().input;
    let plane = (SIDE * SIDE) as usize;
    for (index, (value, plain)) in input.iter().zip(&plain_input).enumerate() {
        let mean = [10.0, 20.0, 30.0][index / plane];
        let expected = (plain * 255.0 - mean) / 255.0;
        assert!(
            (value - expected).abs() < 1e-5,
            "{index}: {value} vs {expected}"
        );
    }
    // The export's output is already a softmax: a second one keeps the order and sums to 1.
    let row = &normalised.run(&[input]).unwrap()[0];
    assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}

#[test]
fn metadata_that_cannot_be_served_is_refused_naming_the_field() {
    let model = reference_model();
    let (onnx, metadata) = export_of(&model);
    let with = |field: &str, value: Value| {
        let mut changed = metadata.clone();
        changed[field] = value;
        changed
    };
    let without = |field: &str| {
        let mut changed = metadata.clone();
        changed.as_object_mut().unwrap().remove(field);
        changed
    };
    let cases = [
        (without("input_name"), "input_name"),
        (with("input_name", json!("pixels")), "input_name"),
        (with("output_name", json!("scores")), "output_name"),
        (without("input_shape"), "input_shape"),
        (with("input_shape", json!([-1, 3, 16])), "input_shape"),
        (with("input_shape", json!([8, 3, 16, 16])), "input_shape"),
        (with("input_shape", json!([-1, 4, 16, 16])), "input_shape"),
        (with("input_shape", json!([-1, 3, 0, 16])), "input_shape"),
        (with("input_range", json!([1, 0])), "input_range"),
        (with("mean", json!([0.5])), "mean"),
        (with("std", json!([1, 0, 1])), "std"),
        (with("layout", json!("CHW")), "layout"),
        (with("resize", json!("area")), "resize"),
        (with("output", json!("boxes")), "output"),
        (with("task", json!("segmentation")), "task"),
        (with("fit", json!("crop")), "fit"),
        (with("score_threshold", json!(1.5)), "score_threshold"),
        (with("score_threshold", json!("high")), "score_threshold"),
        (without("classes"), "classes"),
        (with("classes", json!([{"id": 1}])), "classes"),
        // Three labels for four scores.
        (
            with(
                "classes",
                json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]),
            ),
            "classes",
        ),
        (json!("onnx"), "metadata"),
    ];
    for (metadata, field) in cases {
        match OnnxModel::load(&onnx, &metadata) {
            Err(Error::Metadata {
                field: named,
                reason,
            }) => {
                assert_eq!(named, field, "{reason}")
            }
            Err(other) => panic!("{field}: {other}"),
            Ok(_) => panic!("{field}: accepted {metadata}"),
        }
    }
}

#[test]
fn a_file_that_is_no_onnx_model_is_refused() {
    let (onnx, metadata) = export_of(&reference_model());
    // Ten or more bytes with the continuation bit set made the ONNX parser loop forever
    // (the patched rten-onnx in vendor/); a truncated export ends in the middle of a field.
    for bytes in [
        &b""[..],
        b"not a model",
        &[0xff; 64],
        &onnx[..onnx.len() / 2],
    ] {
        match OnnxModel::load(bytes, &metadata) {
            Err(Error::Model(reason)) => assert!(!reason.is_empty()),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted {bytes:?}"),
        }
    }
}

#[test]
fn inputs_that_are_no_usable_image_are_refused_with_the_reason() {
    let (onnx, metadata) = export_of(&reference_model());
    let served = OnnxModel::load(&onnx, &metadata).unwrap();
    let png = encoded(&picture(30, 30, 6), ImageFormat::Png);
    // A PNG header claiming 100 000 × 100 000 pixels, in a few bytes.
    let mut huge = png[..33].to_vec();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let cases: [(&[u8], &str); 4] = [
        (b"", "not an image"),
        (b"{\"image\": \"cat.png\"}", "not an image"),
        (&png[..png.len() / 2], "cannot be decoded"),
        (&huge, "cannot be decoded"),
    ];
    for (bytes, reason) in cases {
        match served.metadata().prepare(bytes) {
            Err(Error::Input(message)) => assert!(message.contains(reason), "{message}"),
            Err(other) => panic!("{reason}: {other}"),
            Ok(_) => panic!("{reason}: accepted"),
        }
    }
    assert!(matches!(served.run(&[vec![0.0; 5]]), Err(Error::Input(_))));
}

fn batcher(max_batch_size: usize, max_queued: usize) -> (Arc<OnnxModel>, Batcher) {
    let (onnx, metadata) = export_of(&reference_model());
    let model = Arc::new(OnnxModel::load(&onnx, &metadata).unwrap());
    let settings = batch_settings(max_batch_size, Duration::from_millis(5), max_queued);
    (Arc::clone(&model), Batcher::start(model, settings))
}

fn inputs(model: &OnnxModel, count: u32) -> Vec<Vec<f32>> {
    (0..count)
        .map(|seed| {
            let image = encoded(&picture(24, 24, seed), ImageFormat::Png);
            model.metadata().prepare(&image).unwrap().input
        })
        .collect()
}

/// The test's runtime runs one task at a time, so every request is queued before the
/// runner first looks: the batches are then exactly 4, 4 and 2.
#[tokio::test]
async fn queued_requests_run_in_batches_of_at_most_the_batch_size() {
    let (model, batcher) = batcher(4, 100);
    let inputs = inputs(&model, 10);
    let answers = join_all(inputs.iter().map(|input| batcher.infer(input.clone()))).await;
    for (input, answer) in inputs.iter().zip(answers) {
        let alone = model.run(std::slice::from_ref(input)).unwrap().remove(0);
        let batched = answer.unwrap();
        for (a, b) in alone.iter().zip(&batched) {
            assert!((a - b).abs() < 1e-6);
        }
    }
    assert_eq!(batcher.stats().batches_by_size(), vec![0, 0, 1, 0, 2]);
    assert_eq!(batcher.stats().queued(), 0);
}

#[tokio::test]
async fn a_full_queue_refuses_and_a_bad_input_is_refused_before_queueing() {
    let (model, batcher) = batcher(8, 2);
    let inputs = inputs(&model, 3);
    let answers = join_all(inputs.iter().map(|input| batcher.infer(input.clone()))).await;
    assert!(answers[0].is_ok() && answers[1].is_ok());
    assert!(
        matches!(answers[2], Err(Error::Overloaded { queued: 2 })),
        "{:?}",
        answers[2]
    );
    assert!(matches!(
        batcher.infer(vec![0.0; 3]).await,
        Err(Error::Input(_))
    ));
    assert_eq!(batcher.stats().batches_by_size()[2], 1);
}

/// A request after a quiet spell does not wait the queue delay for company (an hour here:
/// waiting for it would hang the test); requests coming in after it do, until their batch is
/// full.
#[tokio::test]
async fn a_lone_request_runs_at_once_and_traffic_runs_together() {
    let (onnx, metadata) = export_of(&reference_model());
    let model = Arc::new(OnnxModel::load(&onnx, &metadata).unwrap());
    let settings = batch_settings(4, Duration::from_secs(3600), 100);
    let batcher = Batcher::start(Arc::clone(&model), settings);
    let inputs = inputs(&model, 5);
    let lone = tokio::time::timeout(Duration::from_secs(60), batcher.infer(inputs[0].clone()));
    assert!(lone.await.unwrap().is_ok());
    let traffic = join_all(inputs[1..].iter().map(|input| batcher.infer(input.clone())));
    let answers = tokio::time::timeout(Duration::from_secs(60), traffic)
        .await
        .unwrap();
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(batcher.stats().batches_by_size(), vec![0, 1, 0, 0, 1]);
}
