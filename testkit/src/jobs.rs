//! Job helpers over GraphQL: a snapshot to train on, a registered trainer, waiting for a job.

use crate::gql::Gql;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a test waits for a job before it fails (jobs here train for seconds).
const JOB_WAIT: Duration = Duration::from_secs(120);

impl Gql {
    /// A dataset of generated images in `classes` (name, count) imported and snapshotted in
    /// `project`; returns the snapshot's id.
    pub async fn snapshot_of(&self, token: &str, project: &str, classes: &[(&str, u32)]) -> String {
        let dataset = self
            .data(
                Some(token),
                "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"training data\"}) { id } }",
                json!({"p": project}),
            )
            .await["createDataset"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let archive = crate::fixtures::image_folder(classes);
        assert_eq!(self.import_archive(token, &dataset, archive).await, "READY");
        self.data(
            Some(token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id } }",
            json!({"d": dataset}),
        )
        .await["createDatasetSnapshot"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Registers `image` as a classification trainer of `org` that exports ONNX and takes
    /// the hyperparameters of the reference trainer, or of the probe when `name` is the
    /// probe's; returns the version's id.
    pub async fn register_trainer(
        &self,
        token: &str,
        org: &str,
        name: &str,
        image: &str,
    ) -> String {
        let hyperparameters = if name == crate::trainer::PROBE {
            json!([
                {"name": "mode", "type": "STR", "required": true,
                 "choices": ["sandbox", "hang", "flood", "crash", "quiet-success", "bad-events"]},
                {"name": "count", "type": "INT", "default": 1000},
            ])
        } else {
            json!([
                {"name": "seed", "type": "INT", "default": 7, "help": "random seed"},
                {"name": "sleep-ms-per-epoch", "type": "INT", "default": 0},
            ])
        };
        self.data(
            Some(token),
            "mutation($i: RegisterTrainerImageInput!) { registerTrainerImage(input: $i) { id } }",
            json!({"i": {
                "orgId": org,
                "name": name,
                "image": image,
                "taskTypes": ["CLASSIFICATION"],
                "exportFormats": ["ONNX"],
                "hyperparameters": hyperparameters,
            }}),
        )
        .await["registerTrainerImage"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Starts a training job of `epochs` and returns its id.
    pub async fn start_training(
        &self,
        token: &str,
        project: &str,
        version: &str,
        snapshot: &str,
        extra: Value,
    ) -> String {
        let mut input = json!({
            "projectId": project,
            "trainerVersionId": version,
            "datasetSnapshotId": snapshot,
            "modelName": "softmax-16",
            "config": {"epochs": 3, "batchSize": 8, "learningRate": 0.5, "imgsz": 16},
        });
        if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
            input.extend(extra);
        }
        self.data(
            Some(token),
            "mutation($i: StartTrainingJobInput!) { startTrainingJob(input: $i) { id status } }",
            json!({"i": input}),
        )
        .await["startTrainingJob"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits (bounded) until the job is in a finished state, or in `until` when given;
    /// returns the job with status, error and attempt.
    pub async fn wait_for_job(&self, token: &str, job: &str, until: &[&str]) -> Value {
        let query = "query($j: ID!) { job(id: $j) { id status errorType errorMessage attempt currentEpoch lastSeq } }";
        let finished = ["SUCCEEDED", "FAILED", "CANCELLED"];
        let started = std::time::Instant::now();
        loop {
            let data = self.data(Some(token), query, json!({"j": job})).await;
            let status = data["job"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let done = if until.is_empty() {
                finished.contains(&status.as_str())
            } else {
                until.contains(&status.as_str())
            };
            if done {
                return data["job"].clone();
            }
            assert!(
                started.elapsed() < JOB_WAIT,
                "job {job} is still {status}: {data}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
