//! Job helpers over GraphQL: a snapshot to train on, a registered trainer, waiting for a job.

use crate::gql::Gql;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// An organization ready to run jobs: a classification project, a snapshot of 2 classes
/// (12 images) and a registered trainer version.
pub struct JobSetup {
    pub token: String,
    pub org: String,
    pub project: String,
    pub snapshot: String,
    pub version: String,
}

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

    /// Trains with `setup`'s trainer and the defaults of [`Self::start_training`], waits
    /// until the job succeeds (else fails the test) and returns its id.
    pub async fn trained(&self, setup: &JobSetup) -> String {
        let job = self
            .start_training(
                &setup.token,
                &setup.project,
                &setup.version,
                &setup.snapshot,
                json!({}),
            )
            .await;
        let done = self.wait_for_job(&setup.token, &job, &[]).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        job
    }

    /// Exports the training `job`'s last checkpoint as ONNX, waits until the export succeeds
    /// (else fails the test) and returns its id.
    pub async fn exported(&self, token: &str, job: &str) -> String {
        let export = self
            .data(
                Some(token),
                "mutation($i: StartExportJobInput!) { startExportJob(input: $i) { id } }",
                json!({"i": {"jobId": job, "checkpoint": "LAST", "format": "ONNX"}}),
            )
            .await["startExportJob"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let done = self.wait_for_job(token, &export, &[]).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        export
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

use keynet_workers::executor::{ATTEMPT_LABEL, JOB_LABEL};

/// A container of a job on the local Docker engine.
#[derive(Clone, Debug)]
pub struct JobContainer {
    pub id: String,
    pub name: String,
    /// From the attempt label.
    pub attempt: Option<i32>,
    /// `created`, `running`, `exited` …
    pub state: String,
}

/// Every container (running or not) labelled `ai.keynet.job=<job>` on the local engine.
pub async fn job_containers(job: &str) -> Vec<JobContainer> {
    use bollard::query_parameters::ListContainersOptions;
    let docker = crate::docker::connect().await.unwrap();
    let filters = HashMap::from([("label".to_owned(), vec![format!("{JOB_LABEL}={job}")])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .unwrap();
    containers
        .into_iter()
        .map(|container| JobContainer {
            id: container.id.unwrap_or_default(),
            name: container
                .names
                .and_then(|names| names.into_iter().next())
                .unwrap_or_default(),
            attempt: container
                .labels
                .as_ref()
                .and_then(|labels| labels.get(ATTEMPT_LABEL))
                .and_then(|attempt| attempt.parse().ok()),
            state: container
                .state
                .map(|state| state.to_string())
                .unwrap_or_default(),
        })
        .collect()
}

/// Waits (bounded) until the job has a container on the local engine, and returns it.
pub async fn wait_for_container(job: &str) -> JobContainer {
    let started = std::time::Instant::now();
    loop {
        if let Some(container) = job_containers(job).await.into_iter().next() {
            return container;
        }
        assert!(
            started.elapsed() < JOB_WAIT,
            "job {job} never had a container"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Builds a test image (`trainer::trainer_image()` or `trainer::probe_image()`) while
/// holding a lock that every test process shares, and returns its id. Builds side by side
/// would each make an image and move the tag under each other; one after the other, the
/// engine's build cache gives every process the same image for the same binary.
pub async fn build_image_alone(
    build: impl std::future::Future<Output = anyhow::Result<String>>,
) -> String {
    let path = crate::trainer::target_dir().join("keynet-test-images.lock");
    let lock = tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap();
        file.lock().unwrap();
        file
    })
    .await
    .unwrap();
    let id = build.await.unwrap();
    drop(lock);
    id
}

/// Force-removes every container of the job (clean-up after a failed test).
pub async fn remove_job_containers(job: &str) {
    use bollard::query_parameters::RemoveContainerOptions;
    let docker = crate::docker::connect().await.unwrap();
    for container in job_containers(job).await {
        let _ = docker
            .remove_container(
                &container.id,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await;
    }
}

/// Checks shared by the job tests of every executor.
impl Gql {
    /// Signs up an owner of a new org `acme` and prepares it (see [`JobSetup`]) with the
    /// trainer `name` registered from `image` (a local image's tag, or `file://…`).
    pub async fn job_setup(&self, name: &str, image: &str) -> JobSetup {
        let owner = self.signup("owner@example.com").await;
        let org = self.create_org(&owner, "acme").await;
        let project = self.create_project(&owner.token, &org, "Parts").await;
        let snapshot = self
            .snapshot_of(&owner.token, &project, &[("bolt", 6), ("nut", 6)])
            .await;
        let version = self.register_trainer(&owner.token, &org, name, image).await;
        JobSetup {
            token: owner.token,
            org,
            project,
            snapshot,
            version,
        }
    }

    /// The fields `fields` of `job(id: job)`.
    pub async fn job_fields(&self, token: &str, job: &str, fields: &str) -> Value {
        self.data(
            Some(token),
            &format!("query($j: ID!) {{ job(id: $j) {{ {fields} }} }}"),
            json!({"j": job}),
        )
        .await["job"]
            .clone()
    }

    /// GETs a (signed) download URL, which must answer 200; returns the body.
    pub async fn download(&self, url: &str) -> Vec<u8> {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        response.bytes().await.unwrap().to_vec()
    }

    /// The best and last checkpoints of a succeeded training job of the reference trainer
    /// are stored and download whole (its checkpoints are JSON).
    pub async fn assert_checkpoints_download(&self, token: &str, job: &str) {
        let found = self
            .job_fields(token, job, "checkpoints { type sizeBytes downloadUrl }")
            .await;
        let checkpoints = found["checkpoints"].as_array().unwrap();
        let kinds: Vec<&str> = checkpoints
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["BEST", "LAST"]);
        for checkpoint in checkpoints {
            let bytes = self
                .download(checkpoint["downloadUrl"].as_str().unwrap())
                .await;
            assert_eq!(
                bytes.len() as i64,
                checkpoint["sizeBytes"].as_i64().unwrap()
            );
            assert!(serde_json::from_slice::<Value>(&bytes).unwrap().is_object());
        }
    }

    /// Runs an inference on `snapshot` with the best checkpoint of the succeeded training
    /// job `job`, then an ONNX export of its last one; both must succeed on `executor`, with
    /// one prediction per image (`images`) and a model that downloads whole. Returns the
    /// ids of the inference and the export.
    pub async fn assert_inference_and_export(
        &self,
        token: &str,
        job: &str,
        snapshot: &str,
        images: usize,
        executor: &str,
    ) -> (String, String) {
        let inference = self
            .data(
                Some(token),
                "mutation($i: StartInferenceJobInput!) { startInferenceJob(input: $i) { id kind sourceJobId } }",
                json!({"i": {"jobId": job, "checkpoint": "BEST", "datasetSnapshotId": snapshot}}),
            )
            .await["startInferenceJob"]
            .clone();
        assert_eq!(
            (
                inference["kind"].as_str(),
                inference["sourceJobId"].as_str()
            ),
            (Some("INFERENCE"), Some(job))
        );
        let inference = inference["id"].as_str().unwrap().to_string();
        let done = self.wait_for_job(token, &inference, &[]).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        let inferred = self
            .job_fields(
                token,
                &inference,
                "executor inferenceResults(first: 100) { edges { node { fileName predictions imageUrl } } }",
            )
            .await;
        assert_eq!(inferred["executor"], executor);
        let results = inferred["inferenceResults"]["edges"].as_array().unwrap();
        assert_eq!(results.len(), images, "{results:?}");
        for result in results {
            assert!(
                result["node"]["fileName"]
                    .as_str()
                    .is_some_and(|name| !name.is_empty()),
                "{result}"
            );
            assert!(
                result["node"]["predictions"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty()),
                "{result}"
            );
            // Each prediction can be shown on the snapshot's image it is about.
            let image = self
                .download(result["node"]["imageUrl"].as_str().unwrap())
                .await;
            assert!(image.starts_with(b"\x89PNG"), "{result}");
        }

        let export = self.exported(token, job).await;
        let exported = self
            .job_fields(
                token,
                &export,
                "executor artifact { format sizeBytes downloadUrl }",
            )
            .await;
        assert_eq!(exported["executor"], executor);
        assert_eq!(exported["artifact"]["format"], "onnx");
        let model = self
            .download(exported["artifact"]["downloadUrl"].as_str().unwrap())
            .await;
        assert!(!model.is_empty());
        assert_eq!(
            model.len() as i64,
            exported["artifact"]["sizeBytes"].as_i64().unwrap()
        );
        (inference, export)
    }
}

/// Stored or streamed events of a training job are each there once, numbered 1, 2, 3 …,
/// from `started` to `completed`, with every epoch's `progress` in order.
pub fn assert_contract_order(events: &[Value], epochs: i64) {
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "{events:#?}"
    );
    assert_eq!(events.first().unwrap()["kind"], "started");
    assert_eq!(events.last().unwrap()["kind"], "completed");
    let progress: Vec<i64> = events
        .iter()
        .filter(|e| e["kind"] == "progress")
        .map(|e| e["body"]["epoch"].as_i64().unwrap())
        .collect();
    assert_eq!(progress, (1..=epochs).collect::<Vec<_>>());
}
