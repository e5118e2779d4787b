//! Inference and export jobs of the trainer binary, from a checkpoint it trained itself.

mod common;

use std::path::Path;

use common::{Job, TRAINER, assert_numbered_and_timestamped, kinds};
use keynet_reference_trainer::checkpoint::Checkpoint;
use keynet_reference_trainer::onnx::{self, ModelProto};
use prost::Message;
use serde_json::Value;

/// Trains briefly and returns the job (its `output/best.json` is the checkpoint).
fn trained() -> Job {
    let job = Job::with_dataset(6);
    let (status, events) = job.run(
        TRAINER,
        &[
            ("EPOCHS", "4"),
            ("BATCH_SIZE", "4"),
            ("LEARNING_RATE", "0.1"),
        ],
        &[],
    );
    assert!(status.success(), "training: {events:?}");
    job
}

/// A new job whose input holds `checkpoint` under `checkpoint/<name>`.
fn job_with_checkpoint(checkpoint: &Path, name: &str) -> Job {
    let job = Job::empty();
    std::fs::create_dir_all(job.input.join("checkpoint")).expect("mkdir");
    std::fs::copy(checkpoint, job.input.join("checkpoint").join(name)).expect("copy");
    job
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn predictions(job: &Job) -> Vec<Value> {
    let text =
        std::fs::read_to_string(job.output.join("predictions.json")).expect("predictions.json");
    serde_json::from_str::<Value>(&text)
        .expect("json")
        .as_array()
        .expect("an array")
        .clone()
}

#[test]
fn inference_predicts_every_dataset_image() {
    let source = trained();
    let job = job_with_checkpoint(&source.output.join("best.json"), "best.json");
    copy_tree(&source.input.join("dataset"), &job.input.join("dataset"));
    let (status, events) = job.run(TRAINER, &[("JOB_KIND", "inference")], &["--top-k", "2"]);
    assert!(status.success(), "{status}: {events:?}");
    assert_numbered_and_timestamped(&events);
    let completed = events.last().expect("event");
    assert_eq!(completed["event"], "inference_completed");
    assert_eq!(completed["results_path"], "predictions.json");

    let results = predictions(&job);
    assert_eq!(results.len(), 18);
    for result in &results {
        let file_name = result["file_name"].as_str().expect("file_name");
        let predictions = result["predictions"].as_array().expect("predictions");
        assert_eq!(predictions.len(), 2, "top-k");
        let scores: Vec<f64> = predictions
            .iter()
            .map(|p| p["score"].as_f64().expect("score"))
            .collect();
        assert!(scores[0] >= scores[1] && scores.iter().all(|s| (0.0..=1.0).contains(s)));
        assert!(predictions[0]["class_id"].is_u64());
        // Images live in images/<class>/…: the top class must be that folder's.
        let folder = file_name.split('/').next().expect("folder");
        assert_eq!(predictions[0]["class_name"], folder, "{result}");
    }
}

#[test]
fn inference_reads_a_plain_images_folder_and_reports_unreadable_files() {
    let source = trained();
    let job = job_with_checkpoint(&source.output.join("last.json"), "model-weights.json");
    let images = job.input.join("images");
    std::fs::create_dir_all(&images).expect("mkdir");
    std::fs::copy(
        source.input.join("dataset/images/blue/000.png"),
        images.join("b.png"),
    )
    .expect("copy");
    std::fs::write(images.join("broken.jpg"), b"not a jpeg").expect("write");
    let (status, events) = job.run(TRAINER, &[("JOB_KIND", "inference")], &[]);
    assert!(status.success(), "{events:?}");
    assert_eq!(kinds(&events).last(), Some(&"inference_completed"));
    let results = predictions(&job);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["file_name"], "b.png");
    assert_eq!(
        results[0]["predictions"].as_array().expect("array").len(),
        3,
        "top-k capped at the class count"
    );
    assert_eq!(results[0]["predictions"][0]["class_name"], "blue");
    assert_eq!(results[1]["file_name"], "broken.jpg");
    assert!(results[1]["error"].is_string());
}

#[test]
fn inference_without_a_checkpoint_fails() {
    let job = Job::with_dataset(1);
    let (status, events) = job.run(TRAINER, &[("JOB_KIND", "inference")], &[]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(events.last().expect("failed")["error_type"], "checkpoint");
}

#[test]
fn export_writes_a_decodable_onnx_model() {
    let source = trained();
    let best = source.output.join("best.json");
    let job = job_with_checkpoint(&best, "best.json");
    let config = r#"{"advanced_config": {"format": "onnx"}}"#;
    let (status, events) = job.run(TRAINER, &[("JOB_KIND", "export"), ("CONFIG", config)], &[]);
    assert!(status.success(), "{events:?}");
    assert_numbered_and_timestamped(&events);
    let completed = events.last().expect("event");
    assert_eq!(completed["event"], "export_completed");
    assert_eq!(completed["format"], "onnx");
    assert_eq!(completed["path"], "model.onnx");
    assert_eq!(
        completed["metadata"]["input_shape"],
        serde_json::json!([-1, 3, 16, 16])
    );
    assert_eq!(
        completed["metadata"]["classes"]
            .as_array()
            .expect("classes")
            .len(),
        3
    );

    let bytes = std::fs::read(job.output.join("model.onnx")).expect("model.onnx");
    let model = ModelProto::decode(bytes.as_slice()).expect("protobuf");
    assert_eq!(model.opset_import[0].version, Some(onnx::OPSET_VERSION));
    let graph = model.graph.expect("graph");
    let weight = graph
        .initializer
        .iter()
        .find(|tensor| tensor.name.as_deref() == Some("weight"))
        .expect("weight");
    assert_eq!(weight.dims, vec![3, 3 * 16 * 16]);
    let checkpoint = Checkpoint::load(&best).expect("checkpoint");
    let expected: Vec<f32> = checkpoint.model.weights.iter().map(|w| *w as f32).collect();
    assert_eq!(onnx::float_values(weight), expected);
}

#[test]
fn export_refuses_other_formats() {
    let source = trained();
    for vars in [
        vec![("JOB_KIND", "export"), ("EXPORT_FORMAT", "tflite")],
        vec![
            ("JOB_KIND", "export"),
            ("CONFIG", r#"{"advanced_config": {"format": "coreml"}}"#),
        ],
    ] {
        let job = job_with_checkpoint(&source.output.join("best.json"), "best.json");
        let (status, events) = job.run(TRAINER, &vars, &[]);
        assert_eq!(status.code(), Some(1));
        assert_eq!(kinds(&events), vec!["failed"]);
        assert_eq!(events[0]["error_type"], "unsupported_format");
        assert!(!job.output.join("model.onnx").exists());
    }
}
