//! The trainer binary on a generated DICE dataset: training and validation jobs.

mod common;

use common::{Job, TRAINER, assert_numbered_and_timestamped, kill, kinds, of_kind, wait_for_event};
use keynet_reference_trainer::checkpoint::Checkpoint;
use std::process::Stdio;

use serde_json::Value;

const FAST: [(&str, &str); 3] = [
    ("BATCH_SIZE", "4"),
    ("LEARNING_RATE", "0.1"),
    ("JOB_ID", "job-1"),
];

fn vars<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    FAST.iter().chain(extra).copied().collect()
}

#[test]
fn training_emits_the_contract_events_in_order_and_writes_checkpoints() {
    let job = Job::with_dataset(8);
    let (status, events) = job.run(
        TRAINER,
        &vars(&[("EPOCHS", "3"), ("JOB_KIND", "training")]),
        &["--seed", "7"],
    );
    assert!(status.success(), "{status}: {events:?}");
    assert_numbered_and_timestamped(&events);

    let kinds = kinds(&events);
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(events[0]["total_epochs"], 3);
    assert_eq!(kinds.last(), Some(&"completed"));
    assert!(
        kinds
            .iter()
            .all(|kind| ["started", "log", "progress", "checkpoint", "completed"].contains(kind)),
        "{kinds:?}"
    );
    for log in of_kind(&events, "log") {
        assert!(
            ["DEBUG", "INFO", "WARNING", "ERROR"].contains(&log["level"].as_str().unwrap_or("")),
            "{log}"
        );
        assert!(log["message"].is_string());
    }

    // Progress for epochs 1, 2, 3; each checkpoint belongs to the epoch just reported.
    let mut current_epoch = 0;
    let mut last_checkpoints = Vec::new();
    let mut best_epochs = Vec::new();
    let mut last_progress: Option<&Value> = None;
    for event in &events {
        match event["event"].as_str() {
            Some("progress") => {
                current_epoch += 1;
                assert_eq!(event["epoch"], current_epoch);
                assert_eq!(event["total_epochs"], 3);
                for metric in ["loss", "accuracy", "val_loss", "val_accuracy"] {
                    assert!(event["metrics"][metric].is_f64(), "{metric} in {event}");
                }
                last_progress = Some(event);
            }
            Some("checkpoint") => {
                assert_eq!(event["epoch"], current_epoch, "{event}");
                let path = event["path"].as_str().expect("path");
                assert!(
                    job.output.join(path).is_file(),
                    "{path} under the output dir"
                );
                match event["type"].as_str() {
                    Some("last") => last_checkpoints.push(current_epoch),
                    Some("best") => best_epochs.push(current_epoch),
                    other => panic!("checkpoint type {other:?}"),
                }
            }
            _ => {}
        }
    }
    assert_eq!(last_checkpoints, vec![1, 2, 3]);
    assert_eq!(best_epochs.first(), Some(&1));

    let completed = events.last().expect("completed");
    assert_eq!(completed["best_metric"], "val_accuracy");
    assert_eq!(
        completed["best_epoch"],
        *best_epochs.last().expect("a best")
    );
    assert_eq!(
        completed["final_metrics"],
        last_progress.expect("progress")["metrics"]
    );
    // The colour classes are separable: the model must actually learn them.
    assert_eq!(completed["best_metric_value"], 1.0, "{completed}");

    let last = Checkpoint::load(&job.output.join("last.json")).expect("last.json");
    assert_eq!((last.epoch, last.job_id.as_str()), (3, "job-1"));
    let best = Checkpoint::load(&job.output.join("best.json")).expect("best.json");
    assert_eq!(best.epoch, completed["best_epoch"]);
    assert_eq!(best.model.classes.len(), 3);
}

#[test]
fn validation_runs_the_training_flow() {
    let job = Job::with_dataset(4);
    let (status, events) = job.run(
        TRAINER,
        &vars(&[("EPOCHS", "1"), ("JOB_KIND", "validation")]),
        &[],
    );
    assert!(status.success(), "{status}: {events:?}");
    let kinds: Vec<&str> = kinds(&events)
        .into_iter()
        .filter(|kind| *kind != "log")
        .collect();
    assert_eq!(
        kinds,
        vec![
            "started",
            "progress",
            "checkpoint",
            "checkpoint",
            "completed"
        ]
    );
}

#[test]
fn same_seed_gives_the_same_checkpoint() {
    let run = |seed: &str| {
        let job = Job::with_dataset(4);
        let (status, _) = job.run(TRAINER, &vars(&[("EPOCHS", "2")]), &["--seed", seed]);
        assert!(status.success());
        std::fs::read(job.output.join("last.json")).expect("last.json")
    };
    assert_eq!(run("3"), run("3"));
    assert_ne!(run("3"), run("4"));
}

#[test]
fn epochs_follow_the_configuration_precedence() {
    let progress_count = |extra: &[(&str, &str)]| {
        let job = Job::with_dataset(2);
        let (status, events) = job.run(TRAINER, &vars(extra), &[]);
        assert!(status.success(), "{events:?}");
        of_kind(&events, "progress").len()
    };
    let config = r#"{"epochs": 2, "primary_metric": "val_loss", "hyperparameters": {"seed": 1}}"#;
    assert_eq!(
        progress_count(&[("CONFIG", config), ("CONFIG_EPOCHS", "4")]),
        2
    );
    assert_eq!(progress_count(&[("EPOCHS", "1"), ("CONFIG", config)]), 1);
    assert_eq!(progress_count(&[("CONFIG_EPOCHS", "3")]), 3);
}

#[test]
fn primary_metric_from_config_is_reported() {
    let job = Job::with_dataset(2);
    let config = r#"{"primary_metric": "val_loss"}"#;
    let (status, events) = job.run(TRAINER, &vars(&[("EPOCHS", "2"), ("CONFIG", config)]), &[]);
    assert!(status.success());
    let completed = events.last().expect("completed");
    assert_eq!(completed["best_metric"], "val_loss");
    let best_loss = completed["best_metric_value"].as_f64().expect("value");
    for progress in of_kind(&events, "progress") {
        assert!(best_loss <= progress["metrics"]["val_loss"].as_f64().expect("val_loss"));
    }
}

#[test]
fn other_tasks_fail_as_unsupported() {
    let job = Job::with_dataset(2);
    let (status, events) = job.run(TRAINER, &[("TASK_TYPE", "detection")], &[]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(kinds(&events), vec!["failed"]);
    assert_eq!(events[0]["error_type"], "unsupported_task");
    assert!(
        events[0]["message"]
            .as_str()
            .expect("message")
            .contains("detection")
    );
}

#[test]
fn a_missing_dataset_fails_with_a_clear_message() {
    let job = Job::empty();
    let (status, events) = job.run(TRAINER, &[("EPOCHS", "1")], &[]);
    assert_eq!(status.code(), Some(1));
    assert_numbered_and_timestamped(&events);
    assert_eq!(kinds(&events).first(), Some(&"started"));
    let failed = events.last().expect("failed");
    assert_eq!(failed["event"], "failed");
    assert_eq!(failed["error_type"], "dataset");
    assert!(
        failed["message"]
            .as_str()
            .expect("message")
            .contains("does not exist"),
        "{failed}"
    );
}

#[test]
fn an_unreadable_image_names_the_file() {
    let job = Job::with_dataset(2);
    std::fs::write(job.input.join("dataset/images/green/001.png"), b"not a png").expect("corrupt");
    let (status, events) = job.run(TRAINER, &[("EPOCHS", "1")], &[]);
    assert_eq!(status.code(), Some(1));
    let failed = events.last().expect("failed");
    assert_eq!(failed["error_type"], "dataset");
    assert!(
        failed["message"]
            .as_str()
            .expect("message")
            .contains("green/001.png"),
        "{failed}"
    );
    assert!(of_kind(&events, "completed").is_empty());
}

#[test]
fn bad_configuration_is_reported() {
    let job = Job::with_dataset(2);
    let (status, events) = job.run(TRAINER, &[("EPOCHS", "many")], &[]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(kinds(&events), vec!["failed"]);
    assert_eq!(events[0]["error_type"], "config");
}

#[test]
fn a_slow_job_can_be_caught_and_stopped_mid_run() {
    let job = Job::with_dataset(2);
    let mut child = job
        .command(
            TRAINER,
            &[("EPOCHS", "10000")],
            &["--sleep-ms-per-epoch", "200"],
        )
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let seen = wait_for_event(&mut child, &job.events, "progress");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "still training"
    );
    kill(child);
    assert!(of_kind(&seen, "completed").is_empty());
    assert!(
        job.events()
            .iter()
            .all(|event| event["event"] != "completed")
    );
}
