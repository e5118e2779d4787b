//! Announcements survive a crash right after their commit. Each write below runs in a
//! "process" of its own (a domain on the same PostgreSQL database, on a runtime of its own)
//! that dies the moment the write returns: its runtime is dropped, so nothing it would have
//! done after the commit ever runs. The subscribers on the app, another instance, must still
//! hear of every write: `auditLogAdded`, `datasetImport`, `jobUpdated`, `orgJobs`,
//! `jobEvents` (which then completes with the job), `usageThresholdReached` and
//! `trainerVersionUpdated`.

use futures_util::future::BoxFuture;
use keynet_api::platform::open_marketplace;
use keynet_api::settings::Settings;
use keynet_domain::jobs::lifecycle::{AttemptReport, Ending};
use keynet_marketplace::Marketplace;
use keynet_testkit::app::JWT_SECRET;
use keynet_testkit::registry::{Registry, image_config, tar_layer};
use keynet_testkit::trainer::{TRAINER, install_program};
use keynet_testkit::ws::{self, Subscription};
use keynet_testkit::{Backend, TestApp, fixtures};
use serde_json::{Value, json};
use std::sync::Arc;

/// The settings of a process beside `app`: its database, data folder and secrets.
fn beside(app: &TestApp) -> Settings {
    let mut settings = Settings {
        data_dir: app.data_dir.path().to_path_buf(),
        database_url: Some(app.database_url().expect("PostgreSQL").to_string()),
        run_workers: false,
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.resolve().unwrap()
}

/// Runs `write` in a process that dies as soon as it returns.
async fn write_then_die<T: Send + 'static>(
    settings: Settings,
    write: impl FnOnce(Arc<Marketplace>) -> BoxFuture<'static, T> + Send + 'static,
) -> T {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let written = runtime
            .block_on(async move { write(open_marketplace(&settings).await.unwrap()).await });
        // The crash: whatever the process spawned is dropped without running again.
        drop(runtime);
        written
    })
    .await
    .unwrap()
}

/// The next data of `field`, past the server's `complete` of subscriptions ended before.
async fn next_data(socket: &mut Subscription, field: &str) -> Value {
    loop {
        let message = socket
            .next_message()
            .await
            .expect("the subscription goes on");
        if message["type"] == "complete" {
            continue;
        }
        assert_eq!(message["type"], "next", "{message}");
        return message["payload"]["data"][field].clone();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_survive_a_crash_right_after_their_commit() {
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        settings.run_workers = false;
    })
    .await;
    let settings = beside(&app);
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let mut socket = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();

    // auditLogAdded
    socket
        .subscribe(
            "audit",
            "subscription($o: ID!) { auditLogAdded(orgId: $o) { action } }",
            json!({"o": org}),
        )
        .await;
    let (token, org_id) = (owner.token.clone(), org.clone());
    write_then_die(settings.clone(), move |marketplace| {
        let domain = marketplace.domain().clone();
        Box::pin(async move {
            let viewer = domain.authenticate(&token, None).await.unwrap();
            let org = org_id.parse().unwrap();
            domain
                .update_organization(&viewer, org, Some("Acme Robotics"), None)
                .await
                .unwrap();
        })
    })
    .await;
    // Entries of the set-up may still be on their way; the rename must follow.
    while next_data(&mut socket, "auditLogAdded").await["action"] != "org.updated" {}
    socket.unsubscribe("audit").await;

    // datasetImport: the app has no workers; the dying process runs the import.
    let dataset = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"parts\"}) { id } }",
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    socket
        .subscribe(
            "import",
            "subscription($d: ID!) { datasetImport(datasetId: $d) { status } }",
            json!({"d": dataset}),
        )
        .await;
    let upload = app
        .upload_dataset(
            &owner.token,
            &dataset,
            fixtures::image_folder(&[("bolt", 4), ("nut", 4)]),
        )
        .await;
    write_then_die(settings.clone(), move |marketplace| {
        let domain = marketplace.domain().clone();
        Box::pin(async move { domain.run_import(upload.parse().unwrap()).await.unwrap() })
    })
    .await;
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("SUCCEEDED") {
        let import = next_data(&mut socket, "datasetImport").await;
        statuses.push(import["status"].as_str().unwrap().to_string());
    }
    socket.unsubscribe("import").await;

    // jobUpdated, orgJobs and jobEvents, of a job whose every step a dying process writes.
    let snapshot = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id } }",
            json!({"d": dataset}),
        )
        .await["createDatasetSnapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let version = app
        .register_trainer(&owner.token, &org, TRAINER, &image)
        .await;
    // One GPU for up to an hour: within the free plan's 10 GPU-hours a month.
    let job = app
        .start_training(
            &owner.token,
            &project,
            &version,
            &snapshot,
            json!({"resources": {"gpus": 1}, "maxRuntimeSeconds": 3600}),
        )
        .await;
    for (id, query) in [
        (
            "updated",
            "subscription($j: ID!) { jobUpdated(jobId: $j) { status } }",
        ),
        (
            "events",
            "subscription($j: ID!) { jobEvents(jobId: $j) { seq kind } }",
        ),
    ] {
        socket.subscribe(id, query, json!({"j": job})).await;
    }
    let mut org_socket = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();
    org_socket
        .subscribe(
            "org",
            "subscription($o: ID!) { orgJobs(orgId: $o) { status } }",
            json!({"o": org}),
        )
        .await;
    let mut usage_socket = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();
    usage_socket
        .subscribe(
            "usage",
            "subscription($o: ID!) { usageThresholdReached(orgId: $o) { quota percent } }",
            json!({"o": org}),
        )
        .await;

    let job_id = job.clone();
    let attempt = write_then_die(settings.clone(), move |marketplace| {
        let domain = marketplace.domain().clone();
        Box::pin(async move {
            domain
                .begin_attempt(job_id.parse().unwrap())
                .await
                .unwrap()
                .expect("the job is queued")
                .job
        })
    })
    .await;
    let trainer_events = vec![
        json!({"seq": 1, "event": "started", "ts": "2026-12-07T08:00:00Z"}),
        json!({"seq": 2, "event": "progress", "epoch": 1, "total_epochs": 1, "metrics": {"loss": 0.5}, "ts": "2026-12-07T08:00:01Z"}),
        json!({"seq": 3, "event": "completed", "final_metrics": {"loss": 0.5}, "ts": "2026-12-07T08:00:02Z"}),
    ];
    for event in trainer_events {
        let (job, number) = (attempt.id, attempt.attempt);
        write_then_die(settings.clone(), move |marketplace| {
            let domain = marketplace.domain().clone();
            Box::pin(async move {
                domain
                    .ingest_events(job, number, vec![event])
                    .await
                    .unwrap()
            })
        })
        .await;
    }
    let finishing = attempt.clone();
    write_then_die(settings.clone(), move |marketplace| {
        let domain = marketplace.domain().clone();
        Box::pin(async move {
            // 8.5 of the plan's 10 GPU-hours: past the 80 % threshold.
            let report = AttemptReport {
                ending: Ending::Exited { code: 0 },
                runtime_ms: 30_600_000,
                executor: Some("process".into()),
            };
            domain.finish_attempt(&finishing, report).await.unwrap()
        })
    })
    .await;

    // Every message on the socket, until both job subscriptions completed.
    let mut updates = Vec::new();
    let mut seqs = Vec::new();
    let mut completed = Vec::new();
    while completed.len() < 2 {
        let message = socket
            .next_message()
            .await
            .expect("the subscriptions go on");
        match (message["type"].as_str(), message["id"].as_str()) {
            (Some("complete"), Some(id @ ("updated" | "events"))) => completed.push(id.to_string()),
            (Some("complete"), _) => {}
            (Some("next"), Some("updated")) => updates.push(
                message["payload"]["data"]["jobUpdated"]["status"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            (Some("next"), Some("events")) => seqs.push(
                message["payload"]["data"]["jobEvents"]["seq"]
                    .as_i64()
                    .unwrap(),
            ),
            _ => panic!("unexpected: {message}"),
        }
    }
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        updates.first().map(String::as_str),
        Some("RUNNING"),
        "{updates:?}"
    );
    assert_eq!(
        updates.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{updates:?}"
    );
    let mut org_statuses = Vec::new();
    while org_statuses.last().map(String::as_str) != Some("SUCCEEDED") {
        let update = next_data(&mut org_socket, "orgJobs").await;
        org_statuses.push(update["status"].as_str().unwrap().to_string());
    }
    assert_eq!(org_statuses.first().map(String::as_str), Some("RUNNING"));
    let threshold = next_data(&mut usage_socket, "usageThresholdReached").await;
    assert_eq!(
        threshold,
        json!({"quota": "gpu_seconds_per_month", "percent": 80})
    );

    // trainerVersionUpdated: a pushed image whose checks the dying process runs (it has no
    // frameworks label, so they end in REJECTED).
    let ticket = app
        .request_trainer_upload(&owner.token, &project, "Leaf Net", json!([]))
        .await;
    let layer = tar_layer(&[("train", b"#!/bin/sh\necho training\n", 0o755)]);
    let pushed = Registry::new(app.url())
        .push_upload(&ticket, &image_config(&[], &[&layer]), &[&layer])
        .await;
    assert_eq!(pushed.status(), 201);
    usage_socket
        .subscribe(
            "version",
            "subscription($v: ID!) { trainerVersionUpdated(versionId: $v) { status } }",
            json!({"v": ticket.version_id}),
        )
        .await;
    let version = ticket.version_id.clone();
    write_then_die(settings.clone(), move |marketplace| {
        Box::pin(async move {
            marketplace
                .check_trainer_version(version.parse().unwrap())
                .await
                .unwrap()
        })
    })
    .await;
    let mut versions = Vec::new();
    while versions.last().map(String::as_str) != Some("REJECTED") {
        let update = next_data(&mut usage_socket, "trainerVersionUpdated").await;
        versions.push(update["status"].as_str().unwrap().to_string());
    }
    drop(socket);
    drop(org_socket);
    drop(usage_socket);
    app.stop().await;
}
