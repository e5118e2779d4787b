//! Jobs on the process executor, on both backends: training with live metrics, logs,
//! checkpoints and stored events; inference and export on its checkpoint; cancellation;
//! the trainer contract's failure rules; bad inputs.

use keynet_api::platform::Platform;
use keynet_api::settings::DockerMode;
use keynet_testkit::jobs::{JobSetup, assert_contract_order};
use keynet_testkit::trainer::{PROBE, TRAINER, install_program};
use keynet_testkit::{TestApp, ws};
use serde_json::{Value, json};

on_both_backends!(
    training_inference_and_export where super::process_only,
    bad_job_inputs_name_their_field where super::process_only,
    cancelling_a_running_job_stops_it where super::process_only,
    contract_violations_fail_the_job_with_a_reason where super::process_only,
    runs_of_an_experiment_are_compared_by_epoch where super::process_only,
    job_events_replay_then_stream_in_order where super::process_only,
    a_python_sdk_trainer_reports_over_http where super::process_only,
    a_job_no_executor_can_run_fails_with_the_reason where super::process_only,
    a_job_whose_workers_are_all_lost_fails where super::process_only,
    starts_and_retries_queue_one_job_per_request where super::process_only,
);

pub(crate) fn process_only(settings: &mut keynet_api::settings::Settings) {
    settings.executor.docker = DockerMode::Off;
    settings.executor.relay_interval_ms = 50;
}

/// An org ready to run jobs, with `program` registered from the folder the process
/// executor allows.
async fn setup(app: &TestApp, program: &str) -> JobSetup {
    let image = install_program(program, &app.data_dir.path().join("trainers")).unwrap();
    app.job_setup(program, &image).await
}

const JOB: &str = "query($j: ID!) { job(id: $j) {
    status executor attempt currentEpoch totalEpochs bestEpoch bestMetric finalMetrics hyperparameters lastSeq
    config { epochs batchSize learningRate imgsz device }
    metrics(names: [\"loss\", \"val_accuracy\"]) { name points { epoch value } }
    logs(first: 100) { edges { node { level source message } } }
    checkpoints { type epoch sizeBytes sha256 downloadUrl }
    events { seq kind body }
} }";

async fn training_inference_and_export(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"seed": "11"}}),
        )
        .await;
    let finished = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished}");

    let job_data = app.data(Some(&s.token), JOB, json!({"j": job})).await["job"].clone();
    assert_eq!(job_data["executor"], "process");
    assert_eq!(job_data["attempt"], 1);
    assert_eq!(job_data["totalEpochs"], 3);
    assert_eq!(job_data["currentEpoch"], 3);
    assert_eq!(
        job_data["hyperparameters"],
        json!({"seed": 11, "sleep-ms-per-epoch": 0})
    );
    // Series by epoch, in order.
    let series = job_data["metrics"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{series:?}");
    for metric in series {
        let epochs: Vec<i64> = metric["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["epoch"].as_i64().unwrap())
            .collect();
        assert_eq!(epochs, [1, 2, 3], "{metric}");
    }
    // Events stored in order, numbered 1, 2, 3 …, from started to completed.
    let events = job_data["events"].as_array().unwrap();
    assert_contract_order(events, 3);
    assert_eq!(job_data["lastSeq"].as_i64().unwrap(), events.len() as i64);
    // The trainer's log events are kept.
    let logs = job_data["logs"]["edges"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["node"]["source"] == "TRAINER"),
        "{logs:?}"
    );
    // Both checkpoints stored and downloadable, byte for byte; inference and export on them.
    app.assert_checkpoints_download(&s.token, &job).await;
    let (_, export) = app
        .assert_inference_and_export(&s.token, &job, &s.snapshot, 12, "process")
        .await;

    // Inference on one uploaded image: upload through the signed URL, then start.
    let infer = "mutation($i: StartInferenceJobInput!) { startInferenceJob(input: $i) { id imageUploadId } }";
    let png = keynet_testkit::fixtures::png(16, 16, 3);
    let uploaded = png.clone();
    let upload = app
        .data(
            Some(&s.token),
            "mutation($p: ID!, $n: Int!) { createInferenceUpload(projectId: $p, filename: \"part.png\", sizeBytes: $n) { uploadId uploadUrl } }",
            json!({"p": s.project, "n": png.len()}),
        )
        .await["createInferenceUpload"]
        .clone();
    let not_yet = app
        .error(
            Some(&s.token),
            infer,
            json!({"i": {"jobId": job, "checkpoint": "BEST", "imageUploadId": upload["uploadId"]}}),
        )
        .await
        .1;
    assert_eq!(not_yet["extensions"]["field"], "imageUploadId", "{not_yet}");
    let put = app
        .http
        .put(upload["uploadUrl"].as_str().unwrap())
        .body(png)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let single = app
        .data(
            Some(&s.token),
            infer,
            json!({"i": {"jobId": job, "checkpoint": "LAST", "imageUploadId": upload["uploadId"]}}),
        )
        .await["startInferenceJob"]
        .clone();
    assert_eq!(single["imageUploadId"], upload["uploadId"]);
    let single_id = single["id"].as_str().unwrap();
    assert_eq!(
        app.wait_for_job(&s.token, single_id, &[]).await["status"],
        "SUCCEEDED"
    );
    let predicted = app
        .data(
            Some(&s.token),
            "query($j: ID!) { job(id: $j) { inferenceResults { edges { node { fileName imageUrl } } } } }",
            json!({"j": single_id}),
        )
        .await;
    let result = &predicted["job"]["inferenceResults"]["edges"][0]["node"];
    assert_eq!(result["fileName"], "part.png");
    // The predictions can be shown on their image.
    assert_eq!(
        app.download(result["imageUrl"].as_str().unwrap()).await,
        uploaded
    );
    for both_or_none in [
        json!({"jobId": job, "checkpoint": "BEST"}),
        json!({"jobId": job, "checkpoint": "BEST", "imageUploadId": upload["uploadId"], "datasetSnapshotId": s.snapshot}),
    ] {
        let error = app
            .error(Some(&s.token), infer, json!({"i": both_or_none}))
            .await
            .1;
        assert_eq!(error["extensions"]["field"], "datasetSnapshotId");
    }
    for (filename, size) in [("notes.txt", 10), ("../x.png", 10), ("x.png", 0)] {
        let (code, _) = app
            .error(
                Some(&s.token),
                "mutation($p: ID!, $f: String!, $n: Int!) { createInferenceUpload(projectId: $p, filename: $f, sizeBytes: $n) { uploadId } }",
                json!({"p": s.project, "f": filename, "n": size}),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{filename}");
    }

    // An export format the trainer does not declare is refused before anything is queued.
    let refused = app
        .error(
            Some(&s.token),
            "mutation($i: StartExportJobInput!) { startExportJob(input: $i) { id } }",
            json!({"i": {"jobId": job, "checkpoint": "LAST", "format": "TFLITE"}}),
        )
        .await
        .1;
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(refused["extensions"]["field"], "format");

    // The runs of the project, filtered.
    let listed = app
        .data(
            Some(&s.token),
            "query($p: ID!) { all: jobs(projectId: $p) { edges { node { kind } } } exports: jobs(projectId: $p, kind: EXPORT) { edges { node { id } } } }",
            json!({"p": s.project}),
        )
        .await;
    assert_eq!(listed["all"]["edges"].as_array().unwrap().len(), 4);
    assert_eq!(listed["exports"]["edges"][0]["node"]["id"], export);
}

async fn bad_job_inputs_name_their_field(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let start = "mutation($i: StartTrainingJobInput!) { startTrainingJob(input: $i) { id } }";
    let base = json!({"projectId": s.project, "trainerVersionId": s.version, "datasetSnapshotId": s.snapshot, "modelName": "m"});
    let with = |patch: Value| {
        let mut input = base.clone();
        input
            .as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        json!({"i": input})
    };
    for (patch, field) in [
        (
            json!({"hyperparameters": {"seed": "seven"}}),
            "hyperparameters.seed",
        ),
        (
            json!({"hyperparameters": {"seed": 1.5}}),
            "hyperparameters.seed",
        ),
        (
            json!({"hyperparameters": {"dropout": 0.1}}),
            "hyperparameters.dropout",
        ),
        (json!({"hyperparameters": [1, 2]}), "hyperparameters"),
        (json!({"config": {"epochs": 0}}), "config.epochs"),
        (
            json!({"config": {"learningRate": -1.0}}),
            "config.learningRate",
        ),
        (json!({"config": {"device": "cuda;rm"}}), "config.device"),
        (json!({"resources": {"gpus": 99}}), "resources.gpus"),
        (json!({"resources": {"memoryMb": 1}}), "resources.memoryMb"),
        (json!({"maxRuntimeSeconds": 0}), "maxRuntimeSeconds"),
        (json!({"advancedConfig": [1]}), "advancedConfig"),
        (json!({"modelName": " "}), "modelName"),
        (json!({"projectId": "nope"}), "projectId"),
    ] {
        let (_, error) = app.error(Some(&s.token), start, with(patch.clone())).await;
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{patch}: {error}"
        );
        assert_eq!(error["extensions"]["field"], field, "{patch}: {error}");
    }
    // Nothing was queued by the refused attempts.
    let jobs = app
        .data(
            Some(&s.token),
            "query($p: ID!) { jobs(projectId: $p) { edges { cursor } } }",
            json!({"p": s.project}),
        )
        .await;
    assert_eq!(jobs["jobs"]["edges"], json!([]));

    // Inference needs a succeeded training job.
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"sleep-ms-per-epoch": 60000}}),
        )
        .await;
    let error = app
        .error(
            Some(&s.token),
            "mutation($i: StartInferenceJobInput!) { startInferenceJob(input: $i) { id } }",
            json!({"i": {"jobId": job, "checkpoint": "BEST", "datasetSnapshotId": s.snapshot}}),
        )
        .await
        .1;
    assert_eq!(error["extensions"]["field"], "jobId");
    app.data(
        Some(&s.token),
        "mutation($j: ID!) { cancelJob(id: $j) { id } }",
        json!({"j": job}),
    )
    .await;

    // Registration: the image must exist and programs must come from an allowed folder.
    let register =
        "mutation($i: RegisterTrainerImageInput!) { registerTrainerImage(input: $i) { id } }";
    for (image, field) in [
        ("file:///bin/sh", "image"),
        ("no-such-image:1", "image"),
        ("", "image"),
    ] {
        let error = app
            .error(Some(&s.token), register, json!({"i": {"orgId": s.org, "name": "x", "image": image, "taskTypes": ["CLASSIFICATION"]}}))
            .await
            .1;
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{image}: {error}"
        );
        assert_eq!(error["extensions"]["field"], field);
    }
    let image = format!(
        "file://{}/trainers/{TRAINER}",
        app.data_dir.path().display()
    );
    let error = app
        .error(
            Some(&s.token),
            register,
            json!({"i": {"orgId": s.org, "name": "x", "image": image, "taskTypes": ["CLASSIFICATION"],
                "hyperparameters": [{"name": "a b", "type": "INT"}]}}),
        )
        .await
        .1;
    assert_eq!(error["extensions"]["field"], "hyperparameters");
}

async fn cancelling_a_running_job_stops_it(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"sleep-ms-per-epoch": 60000}}),
        )
        .await;
    app.wait_for_job(&s.token, &job, &["RUNNING"]).await;
    let cancelled = app
        .data(
            Some(&s.token),
            "mutation($j: ID!) { cancelJob(id: $j) { id } }",
            json!({"j": job}),
        )
        .await;
    assert_eq!(cancelled["cancelJob"]["id"], job);
    let done = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    // Cancelling again is a conflict; retrying makes a new job with the same inputs.
    let again = app
        .code(
            Some(&s.token),
            "mutation($j: ID!) { cancelJob(id: $j) { id } }",
            json!({"j": job}),
        )
        .await;
    assert_eq!(again, "CONFLICT");
    let retried = app
        .data(
            Some(&s.token),
            "mutation($j: ID!) { retryJob(id: $j) { id retryOfId hyperparameters status } }",
            json!({"j": job}),
        )
        .await["retryJob"]
        .clone();
    assert_eq!(retried["retryOfId"], job);
    assert_eq!(retried["hyperparameters"]["sleep-ms-per-epoch"], 60000);
    let retried_id = retried["id"].as_str().unwrap();
    app.data(
        Some(&s.token),
        "mutation($j: ID!) { cancelJob(id: $j) { id } }",
        json!({"j": retried_id}),
    )
    .await;
    assert_eq!(
        app.wait_for_job(&s.token, retried_id, &[]).await["status"],
        "CANCELLED"
    );
}

/// The probe breaks the contract in the ways `PROBE_MODE` says.
async fn contract_violations_fail_the_job_with_a_reason(app: &TestApp) {
    let s = setup(app, PROBE).await;
    let run = |mode: &'static str| {
        let s = &s;
        async move {
            let job = app
                .start_training(
                    &s.token,
                    &s.project,
                    &s.version,
                    &s.snapshot,
                    json!({"hyperparameters": {"mode": mode}}),
                )
                .await;
            app.wait_for_job(&s.token, &job, &[]).await
        }
    };
    let quiet = run("quiet-success").await;
    assert_eq!(
        (quiet["status"].as_str(), quiet["errorType"].as_str()),
        (Some("FAILED"), Some("contract")),
        "{quiet}"
    );
    let crash = run("crash").await;
    assert_eq!(
        (crash["status"].as_str(), crash["errorType"].as_str()),
        (Some("FAILED"), Some("exit")),
        "{crash}"
    );
    assert!(
        crash["errorMessage"].as_str().unwrap().contains("code 3"),
        "{crash}"
    );
    // Malformed lines and a repeated seq are refused and noted; the job still succeeds.
    let messy = run("bad-events").await;
    assert_eq!(messy["status"], "SUCCEEDED", "{messy}");
    let logs = app
        .data(Some(&s.token), "query($j: ID!) { job(id: $j) { logs(level: WARNING, first: 100) { edges { node { source message } } } events { trainerSeq: body } } }", json!({"j": messy["id"]}))
        .await;
    let warnings: Vec<&str> = logs["job"]["logs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["message"].as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("refused a malformed event")),
        "{warnings:?}"
    );
    let seqs: Vec<i64> = logs["job"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["trainerSeq"]["seq"].as_i64().unwrap())
        .collect();
    let mut unique = seqs.clone();
    unique.dedup();
    assert_eq!(seqs, unique, "a repeated seq was stored twice");
}

async fn runs_of_an_experiment_are_compared_by_epoch(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let experiment = app
        .data(
            Some(&s.token),
            "mutation($p: ID!) { createExperiment(input: {projectId: $p, name: \"lr sweep\"}) { id } }",
            json!({"p": s.project}),
        )
        .await["createExperiment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let short = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"experimentId": experiment, "config": {"epochs": 2, "learningRate": 0.5}}),
        )
        .await;
    let long = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"experimentId": experiment, "config": {"epochs": 3, "learningRate": 0.05}}),
        )
        .await;
    for job in [&short, &long] {
        assert_eq!(
            app.wait_for_job(&s.token, job, &[]).await["status"],
            "SUCCEEDED"
        );
    }
    let runs = app
        .data(
            Some(&s.token),
            "query($e: ID!) { experiment(id: $e) { runs { edges { node { id } } } } }",
            json!({"e": experiment}),
        )
        .await;
    let ids: Vec<&str> = runs["experiment"]["runs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [long.as_str(), short.as_str()], "newest first");

    let compared = app
        .data(
            Some(&s.token),
            "query($j: [ID!]!) { compareRuns(jobIds: $j, metrics: [\"val_accuracy\", \"nonexistent\"]) { epochs runs { job { id config { epochs learningRate } hyperparameters } metrics { name values } } } }",
            json!({"j": [short, long]}),
        )
        .await["compareRuns"]
        .clone();
    assert_eq!(compared["epochs"], json!([1, 2, 3]));
    let runs = compared["runs"].as_array().unwrap();
    assert_eq!(
        runs[0]["job"]["config"],
        json!({"epochs": 2, "learningRate": 0.5})
    );
    assert_eq!(
        runs[1]["job"]["config"],
        json!({"epochs": 3, "learningRate": 0.05})
    );
    assert_eq!(runs[0]["job"]["hyperparameters"]["seed"], 7);
    let accuracy = |run: &Value| run["metrics"][0]["values"].as_array().unwrap().clone();
    assert_eq!(runs[0]["metrics"][0]["name"], "val_accuracy");
    assert!(
        accuracy(&runs[0])[..2].iter().all(Value::is_number) && accuracy(&runs[0])[2].is_null(),
        "{:?}",
        accuracy(&runs[0])
    );
    assert!(accuracy(&runs[1]).iter().all(Value::is_number));
    assert_eq!(runs[1]["metrics"][1]["values"], json!([null, null, null]));

    let (code, error) = app
        .error(
            Some(&s.token),
            "query { compareRuns(jobIds: [], metrics: [\"loss\"]) { epochs } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("jobIds"))
    );
}

/// A client that subscribes after the job started gets the stored events first, then the
/// live ones, each once and in order.
async fn job_events_replay_then_stream_in_order(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"config": {"epochs": 4}, "hyperparameters": {"sleep-ms-per-epoch": 300}}),
        )
        .await;
    app.wait_for_job(&s.token, &job, &["RUNNING"]).await;
    let mut socket = ws::connect(app.url(), json!({"token": s.token}))
        .await
        .unwrap();
    socket
        .subscribe(
            "events",
            "subscription($j: ID!) { jobEvents(jobId: $j, afterSeq: 0) { seq kind body } }",
            json!({"j": job}),
        )
        .await;
    let mut received = Vec::new();
    loop {
        let message = socket.next_message().await.unwrap();
        assert_eq!(message["type"], "next", "{message}");
        let event = message["payload"]["data"]["jobEvents"].clone();
        let done = event["kind"] == "completed";
        received.push(event);
        if done {
            break;
        }
    }
    let seqs: Vec<i64> = received
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let epochs: Vec<i64> = received
        .iter()
        .filter(|e| e["kind"] == "progress")
        .map(|e| e["body"]["epoch"].as_i64().unwrap())
        .collect();
    assert_eq!(epochs, [1, 2, 3, 4]);

    // Reconnecting after the last seen event gives nothing twice.
    let last = *seqs.last().unwrap();
    let mut again = ws::connect(app.url(), json!({"token": s.token}))
        .await
        .unwrap();
    again
        .subscribe(
            "again",
            "subscription($j: ID!, $a: Int!) { jobEvents(jobId: $j, afterSeq: $a) { seq } }",
            json!({"j": job, "a": last - 2}),
        )
        .await;
    for expected in [last - 1, last] {
        let message = again.next_message().await.unwrap();
        assert_eq!(message["payload"]["data"]["jobEvents"]["seq"], expected);
    }
}

/// A trainer written with the Python SDK, run by the process executor (which gives it
/// network): its events arrive over the HTTP transport with the job's own token.
const PYTHON_TRAINER: &str = r#"#!/usr/bin/python3
import os, sys
sys.path.insert(0, os.environ["SDK_PATH_PLACEHOLDER"])
import keynet_sdk as keynet

config = keynet.get_basic_config()
annotations = keynet.load_annotations()
keynet.report_started(config["epochs"])
keynet.log_info("images: %d" % len(annotations["images"]), {"classes": len(annotations["classes"])})
for epoch in range(1, config["epochs"] + 1):
    keynet.report_progress(epoch, config["epochs"], {"loss": 1.0 / epoch})
    path = os.path.join(keynet.output_dir(), "weights.txt")
    with open(path, "w") as f:
        f.write("epoch %d" % epoch)
    keynet.upload_checkpoint(path, type="last", epoch=epoch)
keynet.report_completed(config["epochs"], "loss", 1.0 / config["epochs"], {"loss": 1.0 / config["epochs"]})
keynet.flush_logs()
"#;

async fn a_python_sdk_trainer_reports_over_http(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let snapshot = app
        .snapshot_of(&owner.token, &project, &[("bolt", 2), ("nut", 2)])
        .await;
    let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sdk/python")
        .canonicalize()
        .unwrap();
    let dir = app.data_dir.path().join("trainers");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("train.py");
    let source = PYTHON_TRAINER.replace(
        "os.environ[\"SDK_PATH_PLACEHOLDER\"]",
        &format!("{:?}", sdk.display().to_string()),
    );
    std::fs::write(&script, source).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let version = app
        .register_trainer(
            &owner.token,
            &org,
            "python",
            &format!("file://{}", script.display()),
        )
        .await;
    let job = app
        .start_training(
            &owner.token,
            &project,
            &version,
            &snapshot,
            json!({"config": {"epochs": 2}}),
        )
        .await;
    let done = app.wait_for_job(&owner.token, &job, &[]).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let data = app
        .data(
            Some(&owner.token),
            "query($j: ID!) { job(id: $j) { events { kind } checkpoints { type epoch } logs(level: INFO) { edges { node { source message } } } } }",
            json!({"j": job}),
        )
        .await;
    let kinds: Vec<&str> = data["job"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "log",
            "progress",
            "checkpoint",
            "progress",
            "checkpoint",
            "completed"
        ]
    );
    assert_eq!(
        data["job"]["checkpoints"],
        json!([{"type": "LAST", "epoch": 2}])
    );
    let trainer_lines: Vec<&str> = data["job"]["logs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["source"] == "TRAINER")
        .map(|e| e["node"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(trainer_lines, ["images: 4"]);

    // The transport refuses a wrong token and a finished job's events.
    let refused = app
        .http
        .post(format!("{}/api/v1/jobs/{job}/events", app.url()))
        .bearer_auth("kjt_forged")
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Malformed requests: each a clear status and JSON error, nothing stored.
    let events = format!("{}/api/v1/jobs/{job}/events", app.url());
    for (url, token, body, status, field) in [
        (events.clone(), None, "[]", 401, None),
        (
            format!("{}/api/v1/jobs/nope/events", app.url()),
            Some("kjt_x"),
            "[]",
            400,
            Some("id"),
        ),
        (events.clone(), Some("kjt_x"), "not json", 400, Some("body")),
        (
            events.clone(),
            Some("kjt_x"),
            "{\"event\": \"started\"}",
            400,
            Some("body"),
        ),
    ] {
        let mut request = app
            .http
            .post(&url)
            .body(body)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{url} {body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["errors"][0]["extensions"]["field"].as_str(),
            field,
            "{answer}"
        );
    }
    let stored = app.job_fields(&owner.token, &job, "lastSeq").await;
    assert_eq!(stored["lastSeq"], kinds.len());
}

async fn a_job_no_executor_can_run_fails_with_the_reason(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            // Short enough for the free plan's GPU-seconds, which admission reserves.
            json!({"resources": {"gpus": 1}, "maxRuntimeSeconds": 600}),
        )
        .await;
    let done = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(
        (done["status"].as_str(), done["errorType"].as_str()),
        (Some("FAILED"), Some("unschedulable")),
        "{done}"
    );
    assert!(
        done["errorMessage"]
            .as_str()
            .unwrap()
            .contains("cannot grant GPUs"),
        "{done}"
    );
}

/// What the queue does when a job's task died with its workers lost on every attempt
/// (`TaskHandler::lost`): the job fails for good, with the reason, and a worker that still
/// runs an attempt of it can no longer change it.
async fn a_job_whose_workers_are_all_lost_fails(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"sleep-ms-per-epoch": 300}}),
        )
        .await;
    app.wait_for_job(&s.token, &job, &["RUNNING"]).await;
    let id = job.parse().unwrap();
    let domain = &app.platform().domain;
    domain.fail_lost_job(id).await.unwrap();
    let failed = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(
        (failed["status"].as_str(), failed["errorType"].as_str()),
        (Some("FAILED"), Some("worker_lost")),
        "{failed}"
    );
    // The attempt still running finishes, but changes nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    domain.fail_lost_job(id).await.unwrap();
    let after = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(
        (after["status"].as_str(), after["errorType"].as_str()),
        (Some("FAILED"), Some("worker_lost")),
        "{after}"
    );
}

/// An app on PostgreSQL running a training job (`extra` added to its input), a second
/// instance beside it, and a graphql-ws connection to that second instance as the owner.
async fn job_watched_from_another_instance(
    extra: Value,
) -> (TestApp, Platform, String, ws::Subscription) {
    let app = TestApp::spawn_with(keynet_testkit::Backend::Postgres, process_only).await;
    let watcher = app.spawn_beside(|_| {}).await;
    let s = setup(&app, TRAINER).await;
    let job = app
        .start_training(&s.token, &s.project, &s.version, &s.snapshot, extra)
        .await;
    let socket = ws::connect(&watcher.url(), json!({"token": s.token}))
        .await
        .unwrap();
    (app, watcher, job, socket)
}

/// Subscribers of one instance hear about what another instance's worker did: the event
/// bus fans out through PostgreSQL `LISTEN/NOTIFY`. (`jobUpdated` replays nothing, so its
/// updates can only have come over the bus.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_updates_fan_out_across_instances() {
    let (app, watcher, job, mut socket) =
        job_watched_from_another_instance(json!({"hyperparameters": {"sleep-ms-per-epoch": 500}}))
            .await;
    socket
        .subscribe(
            "updates",
            "subscription($j: ID!) { jobUpdated(jobId: $j) { status currentEpoch } }",
            json!({"j": job}),
        )
        .await;
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("SUCCEEDED") {
        let message = socket.next_message().await.unwrap();
        statuses.push(
            message["payload"]["data"]["jobUpdated"]["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(statuses.contains(&"RUNNING".to_string()), "{statuses:?}");
    drop(socket);
    watcher.stop().await.unwrap();
    app.stop().await;
}

/// The watching instance's bus loses its `LISTEN` connection again and again while the job
/// runs (the notifications sent meanwhile are gone). `jobEvents` still passes on every event
/// once and in order, refilling from the store, and both subscriptions complete with the
/// job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_job_streams_survive_a_lost_listener() {
    use sea_orm::{ConnectionTrait, Database};

    let (app, watcher, job, mut socket) = job_watched_from_another_instance(
        json!({"config": {"epochs": 6}, "hyperparameters": {"sleep-ms-per-epoch": 400}}),
    )
    .await;
    for (id, query) in [
        (
            "events",
            "subscription($j: ID!) { jobEvents(jobId: $j) { seq kind } }",
        ),
        (
            "updated",
            "subscription($j: ID!) { jobUpdated(jobId: $j) { status } }",
        ),
    ] {
        socket.subscribe(id, query, json!({"j": job})).await;
    }
    // Cuts every bus listener of the database while the job runs.
    let db = Database::connect(app.database_url().unwrap())
        .await
        .unwrap();
    let cutter = tokio::spawn(async move {
        for _ in 0..12 {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            db.execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN%keynet_events%'",
            )
            .await
            .unwrap();
        }
    });
    let mut seqs = Vec::new();
    let mut kinds = Vec::new();
    let mut statuses = Vec::new();
    let mut completed = 0;
    while completed < 2 {
        let message = socket.next_message().await.unwrap();
        match (message["type"].as_str(), message["id"].as_str()) {
            (Some("complete"), _) => completed += 1,
            (Some("next"), Some("events")) => {
                let event = &message["payload"]["data"]["jobEvents"];
                seqs.push(event["seq"].as_i64().unwrap());
                kinds.push(event["kind"].as_str().unwrap().to_string());
            }
            (Some("next"), Some("updated")) => statuses.push(
                message["payload"]["data"]["jobUpdated"]["status"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            _ => panic!("unexpected: {message}"),
        }
    }
    cutter.await.unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("completed"),
        "{kinds:?}"
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{statuses:?}"
    );
    drop(socket);
    watcher.stop().await.unwrap();
    app.stop().await;
}

const START_TRAINING: &str =
    "mutation($i: StartTrainingJobInput!) { startTrainingJob(input: $i) { id } }";
const RETRY: &str = "mutation($j: ID!) { retryJob(id: $j) { id retryOfId } }";

/// The ids of the project's jobs.
async fn job_ids(app: &TestApp, token: &str, project: &str) -> Vec<String> {
    let data = app
        .data(
            Some(token),
            "query($p: ID!) { jobs(projectId: $p, first: 100) { edges { node { id } } } }",
            json!({"p": project}),
        )
        .await;
    data["jobs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Four identical requests at once (as clients retrying after a timeout send them); all
/// must succeed; returns the ids they answered.
async fn four_at_once(
    app: &TestApp,
    token: &str,
    query: &str,
    vars: Value,
    field: &str,
) -> Vec<String> {
    let answers =
        futures_util::future::join_all((0..4).map(|_| app.data(Some(token), query, vars.clone())))
            .await;
    answers
        .iter()
        .map(|data| data[field]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn starts_and_retries_queue_one_job_per_request(app: &TestApp) {
    let s = setup(app, TRAINER).await;
    let input = |key: &str, model: &str| {
        json!({"i": {
            "projectId": s.project, "trainerVersionId": s.version,
            "datasetSnapshotId": s.snapshot, "modelName": model,
            "config": {"epochs": 3, "batchSize": 8, "learningRate": 0.5, "imgsz": 16},
            "hyperparameters": {"sleep-ms-per-epoch": 60000},
            "idempotencyKey": key,
        }})
    };

    // Concurrent starts with one key: one job, which every call answers.
    let started = four_at_once(
        app,
        &s.token,
        START_TRAINING,
        input("run-1", "m"),
        "startTrainingJob",
    )
    .await;
    let job = started[0].clone();
    assert!(started.iter().all(|id| *id == job), "{started:?}");
    assert_eq!(job_ids(app, &s.token, &s.project).await, [job.as_str()]);
    // A replay later answers it too; the key with another input is a conflict.
    let replayed = app
        .data(Some(&s.token), START_TRAINING, input("run-1", "m"))
        .await;
    assert_eq!(replayed["startTrainingJob"]["id"], job);
    let (code, error) = app
        .error(
            Some(&s.token),
            START_TRAINING,
            input("run-1", "other model"),
        )
        .await;
    assert_eq!(code, "CONFLICT", "{error}");
    assert!(error["message"].as_str().unwrap().contains(&job), "{error}");
    let (code, error) = app
        .error(Some(&s.token), START_TRAINING, input("", "m"))
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("idempotencyKey"))
    );
    assert_eq!(job_ids(app, &s.token, &s.project).await, [job.as_str()]);

    // Retrying the cancelled job, four times at once, then again: one retry.
    app.data(
        Some(&s.token),
        "mutation($j: ID!) { cancelJob(id: $j) { id } }",
        json!({"j": job}),
    )
    .await;
    assert_eq!(
        app.wait_for_job(&s.token, &job, &[]).await["status"],
        "CANCELLED"
    );
    let retries = four_at_once(app, &s.token, RETRY, json!({"j": job}), "retryJob").await;
    let retry = retries[0].clone();
    assert!(retries.iter().all(|id| *id == retry), "{retries:?}");
    let again = app.data(Some(&s.token), RETRY, json!({"j": job})).await;
    assert_eq!(again["retryJob"], json!({"id": retry, "retryOfId": job}));
    let mut jobs = job_ids(app, &s.token, &s.project).await;
    jobs.sort();
    let mut expected = vec![job.clone(), retry.clone()];
    expected.sort();
    assert_eq!(jobs, expected, "one retry");
    app.data(
        Some(&s.token),
        "mutation($j: ID!) { cancelJob(id: $j) { id } }",
        json!({"j": retry}),
    )
    .await;
    app.wait_for_job(&s.token, &retry, &[]).await;

    // Another organization's identical key is its own.
    let owner = app.signup("other@example.com").await;
    let other = app.create_org(&owner, "globex").await;
    let project = app.create_project(&owner.token, &other, "Parts").await;
    let snapshot = app
        .snapshot_of(&owner.token, &project, &[("bolt", 2), ("nut", 2)])
        .await;
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let version = app
        .register_trainer(&owner.token, &other, TRAINER, &image)
        .await;
    let theirs = app
        .data(
            Some(&owner.token),
            START_TRAINING,
            json!({"i": {
                "projectId": project, "trainerVersionId": version,
                "datasetSnapshotId": snapshot, "modelName": "m",
                "config": {"epochs": 1}, "idempotencyKey": "run-1",
            }}),
        )
        .await["startTrainingJob"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(theirs, job);
    assert_eq!(
        job_ids(app, &owner.token, &project).await,
        [theirs.as_str()]
    );
    app.wait_for_job(&owner.token, &theirs, &[]).await;
}
