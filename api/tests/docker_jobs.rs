//! Jobs on a real Docker engine and PostgreSQL (no fallback: `executor.docker = on`): the
//! reference trainer image trained, followed live over graphql-ws, its checkpoints used for
//! inference and export; the sandbox seen from inside a container; a hanging container
//! stopped at its limit, a flooding one capped, a running one cancelled, and none of their
//! containers left behind.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_api::settings::{DockerMode, Settings};
use keynet_testkit::jobs::{
    JobSetup, assert_contract_order, build_image_alone, job_containers, wait_for_container,
};
use keynet_testkit::trainer::{
    PROBE, PROBE_IMAGE_TAG, TRAINER, TRAINER_IMAGE_TAG, probe_image, trainer_image,
};
use keynet_testkit::{Backend, TestApp, ws};
use serde_json::{Value, json};

fn on_docker(settings: &mut Settings) {
    settings.executor.docker = DockerMode::On;
    settings.executor.relay_interval_ms = 50;
}

async fn with_trainer(app: &TestApp) -> (JobSetup, String) {
    let image = build_image_alone(trainer_image()).await;
    (app.job_setup(TRAINER, TRAINER_IMAGE_TAG).await, image)
}

async fn with_probe(app: &TestApp) -> JobSetup {
    build_image_alone(probe_image()).await;
    app.job_setup(PROBE, PROBE_IMAGE_TAG).await
}

/// Starts a probe job in `mode` with more hyperparameters and fields, and waits for its end.
async fn run_probe(app: &TestApp, s: &JobSetup, hyperparameters: Value, extra: Value) -> Value {
    let mut input = json!({"hyperparameters": hyperparameters});
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let job = app
        .start_training(&s.token, &s.project, &s.version, &s.snapshot, input)
        .await;
    app.wait_for_job(&s.token, &job, &[]).await
}

/// Every log line of the job, oldest first, page by page.
async fn all_logs(app: &TestApp, token: &str, job: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .data(
                Some(token),
                "query($j: ID!, $a: String) { job(id: $j) { logs(first: 100, after: $a) {
                    pageInfo { hasNextPage endCursor } nodes { source level message } } } }",
                json!({"j": job, "a": after}),
            )
            .await["job"]["logs"]
            .clone();
        lines.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            return lines;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

async fn assert_no_container(job: &str) {
    let left = job_containers(job).await;
    assert!(left.is_empty(), "containers of job {job} left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_inference_and_export_run_end_to_end_on_docker() {
    let app = TestApp::spawn_with(Backend::Postgres, on_docker).await;
    let (s, image) = with_trainer(&app).await;
    assert!(image.starts_with("sha256:"), "{image}");

    // Registered by its tag, the version runs the image's immutable id.
    let version = app
        .data(
            Some(&s.token),
            "query($v: ID!) { trainerVersion(id: $v) { image reference runtime status } }",
            json!({"v": s.version}),
        )
        .await["trainerVersion"]
        .clone();
    assert_eq!(
        version,
        json!({"image": TRAINER_IMAGE_TAG, "reference": image, "runtime": "IMAGE", "status": "READY"})
    );

    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"config": {"epochs": 4}, "hyperparameters": {"sleep-ms-per-epoch": 500}}),
        )
        .await;
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
    socket
        .subscribe(
            "updates",
            "subscription($j: ID!) { jobUpdated(jobId: $j) { jobId status attempt currentEpoch } }",
            json!({"j": job}),
        )
        .await;
    let mut events = Vec::new();
    let mut statuses: Vec<String> = Vec::new();
    let mut completed = false;
    while !(completed && statuses.last().is_some_and(|s| s == "SUCCEEDED")) {
        let message = socket.next_message().await.unwrap();
        // The events stream ends once the job is final, which may be announced to it before
        // `jobUpdated` brings SUCCEEDED here: its `complete` is expected, after `completed`.
        if message["type"] == "complete" && message["id"] == "events" {
            assert!(completed, "the events ended before `completed`: {message}");
            continue;
        }
        assert_eq!(message["type"], "next", "{message}");
        match message["id"].as_str() {
            Some("events") => {
                let event = message["payload"]["data"]["jobEvents"].clone();
                completed |= event["kind"] == "completed";
                events.push(event);
            }
            Some("updates") => {
                let update = &message["payload"]["data"]["jobUpdated"];
                assert_eq!(update["jobId"], job);
                let status = update["status"].as_str().unwrap().to_string();
                if statuses.last() != Some(&status) {
                    statuses.push(status);
                }
            }
            other => panic!("a message for {other:?}: {message}"),
        }
    }
    assert_eq!(statuses, ["RUNNING", "SUCCEEDED"]);
    // Every event once, numbered 1, 2, 3 …; every epoch's progress, in order.
    assert_contract_order(&events, 4);
    let seqs = events.len();

    let finished = app
        .job_fields(
            &s.token,
            &job,
            "status executor attempt currentEpoch totalEpochs lastSeq
         checkpoints { type epoch sizeBytes downloadUrl } events { seq kind }",
        )
        .await;
    assert_eq!(
        (
            &finished["status"],
            &finished["executor"],
            &finished["attempt"]
        ),
        (&json!("SUCCEEDED"), &json!("docker"), &json!(1)),
        "{finished}"
    );
    assert_eq!(finished["currentEpoch"], 4);
    assert_eq!(finished["totalEpochs"], 4);
    // What was streamed is what was stored.
    assert_eq!(finished["lastSeq"], json!(seqs));
    let stored: Vec<(i64, String)> = finished["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let streamed: Vec<(i64, String)> = events
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(stored, streamed);
    // Both checkpoints written in the container are stored and download whole.
    app.assert_checkpoints_download(&s.token, &job).await;
    assert_no_container(&job).await;

    // Inference with the best checkpoint and an ONNX export of the last, in containers too.
    let (inference, export) = app
        .assert_inference_and_export(&s.token, &job, &s.snapshot, 12, "docker")
        .await;
    assert_no_container(&inference).await;
    assert_no_container(&export).await;
    app.stop().await;
}

/// The probe reports what it could do from inside its container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_has_no_network_a_read_only_root_and_no_capabilities() {
    let app = TestApp::spawn_with(Backend::Postgres, on_docker).await;
    let s = with_probe(&app).await;
    let done = run_probe(&app, &s, json!({"mode": "sandbox"}), json!({})).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let job = app
        .job_fields(
            &s.token,
            done["id"].as_str().unwrap(),
            "executor finalMetrics",
        )
        .await;
    assert_eq!(job["executor"], "docker");
    assert_eq!(
        job["finalMetrics"],
        json!({
            "network": 0,
            "root_writable": 0,
            "tmp_writable": 1,
            "caps_effective": 0,
            "no_new_privs": 1,
        })
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_container_is_stopped_at_its_limit_and_removed() {
    let app = TestApp::spawn_with(Backend::Postgres, on_docker).await;
    let s = with_probe(&app).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"mode": "hang"}, "maxRuntimeSeconds": 10}),
        )
        .await;
    let container = wait_for_container(&job).await;
    assert_eq!(container.attempt, Some(1), "{container:?}");
    let done = app.wait_for_job(&s.token, &job, &[]).await;
    assert_eq!(
        (done["status"].as_str(), done["errorType"].as_str()),
        (Some("FAILED"), Some("timeout")),
        "{done}"
    );
    assert!(
        done["errorMessage"].as_str().unwrap().contains("10 s"),
        "{done}"
    );
    assert_no_container(&job).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_output_is_capped_and_the_rest_discarded() {
    const LIMIT: usize = 64 * 1024;
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        on_docker(settings);
        settings.executor.log_limit_bytes = LIMIT;
    })
    .await;
    let s = with_probe(&app).await;
    let done = run_probe(
        &app,
        &s,
        json!({"mode": "flood", "count": 2_000_000}),
        json!({}),
    )
    .await;
    let job = done["id"].as_str().unwrap();
    // The flood reports nothing: by the contract, a failure.
    assert_eq!(
        (done["status"].as_str(), done["errorType"].as_str()),
        (Some("FAILED"), Some("contract")),
        "{done}"
    );
    let logs = all_logs(&app, &s.token, job).await;
    let stdout: Vec<&str> = logs
        .iter()
        .filter(|l| l["source"] == "STDOUT")
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(!stdout.is_empty(), "no output kept at all");
    assert!(stdout[0].starts_with("flood line 1 "), "{}", stdout[0]);
    let longest = stdout.iter().map(|line| line.len() + 1).max().unwrap();
    let kept: usize = stdout.iter().map(|line| line.len() + 1).sum();
    assert!(
        kept <= LIMIT + longest,
        "{kept} bytes of output kept over {} lines; the limit is {LIMIT}",
        stdout.len()
    );
    assert!(
        logs.iter().any(|l| l["source"] == "PLATFORM"
            && l["level"] == "WARNING"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("discarded"))),
        "no note of the discarded output: {:?}",
        logs.iter()
            .filter(|l| l["source"] != "STDOUT")
            .collect::<Vec<_>>()
    );
    assert_no_container(job).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_docker_job_stops_and_removes_its_container() {
    let app = TestApp::spawn_with(Backend::Postgres, on_docker).await;
    let (s, _) = with_trainer(&app).await;
    let job = app
        .start_training(
            &s.token,
            &s.project,
            &s.version,
            &s.snapshot,
            json!({"hyperparameters": {"sleep-ms-per-epoch": 600_000}}),
        )
        .await;
    app.wait_for_job(&s.token, &job, &["RUNNING"]).await;
    wait_for_container(&job).await;
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
    assert_no_container(&job).await;
    app.stop().await;
}
