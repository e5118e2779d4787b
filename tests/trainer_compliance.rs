//! The whole path of a pushed trainer on the real Docker engine: the reference trainer,
//! labelled, is pushed with `docker push` and an upload key, removed from the engine, then
//! validated, scanned and test-run — the worker loads the image from the registry's blobs,
//! runs a validation job on a generated dataset and an inference job on its checkpoint —
//! and the version ends READY. A trainer that breaks the event contract is REJECTED with
//! the events it did report. Whatever the outcome, the image the worker loaded is gone
//! from the engine once the runs ended.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_api::settings::DockerMode;
use keynet_testkit::docker::{busybox_image, cli, cli_ok};
use keynet_testkit::registry::{Registry, check_line, error_code};
use keynet_testkit::trainer::trainer_image;
use keynet_testkit::{Account, Backend, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const LABELS: &str = "LABEL ai.keynet.trainer.task-types=classification ai.keynet.trainer.frameworks=rust ai.keynet.trainer.export-formats=onnx";

/// Builds `FROM base` plus the trainer labels (and `extra` Dockerfile lines) into `tag`.
fn labelled(config: &Path, base: &str, extra: &str, tag: &str) {
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {base}\n{LABELS}\n{extra}\n"),
    )
    .unwrap();
    cli_ok(
        config,
        &["build", "-q", "-t", tag, context.path().to_str().unwrap()],
        None,
    );
}

async fn app() -> TestApp {
    TestApp::spawn_with(Backend::Postgres, |settings| {
        settings.executor.docker = DockerMode::On;
        settings.executor.relay_interval_ms = 50;
    })
    .await
}

/// Requests an upload key for `model` in a new project of `org_id`; (version id, key,
/// repository).
async fn upload_key(
    app: &TestApp,
    owner: &Account,
    org_id: &str,
    model: &str,
) -> (String, String, String) {
    let project = app.create_project(&owner.token, org_id, model).await;
    let upload = app
        .data(
            Some(&owner.token),
            "mutation($input: RequestTrainerUploadInput!) { requestTrainerUpload(input: $input) { id uploadKey repository } }",
            json!({"input": {"projectId": project, "modelName": model}}),
        )
        .await["requestTrainerUpload"]
        .clone();
    (
        upload["id"].as_str().unwrap().to_string(),
        upload["uploadKey"].as_str().unwrap().to_string(),
        upload["repository"].as_str().unwrap().to_string(),
    )
}

/// Pushes `local` as `<repository>:<key>` with the key as the password, then removes the
/// local copies so the worker has to load the image from the registry.
fn push(config: &Path, local: &str, repository: &str, key: &str) {
    let host = repository.split('/').next().unwrap();
    cli_ok(
        config,
        &["login", host, "-u", "upload", "--password-stdin"],
        Some(key),
    );
    let remote = format!("{repository}:{key}");
    cli_ok(config, &["tag", local, &remote], None);
    cli_ok(config, &["push", &remote], None);
    cli_ok(config, &["rmi", &remote, local], None);
}

async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    let query = "query($id: ID!) { trainerVersion(id: $id) { status reference manifestDigest checks { name status message } } }";
    for _ in 0..1200 {
        let version =
            app.data(Some(token), query, json!({"id": id})).await["trainerVersion"].clone();
        if matches!(version["status"].as_str(), Some("READY" | "REJECTED")) {
            return version;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the version did not reach READY or REJECTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_reference_trainer_passes_the_compliance_run_and_is_ready() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let (version_id, key, repository) = upload_key(&app, &owner, &org_id, "Reference").await;
    let config = tempfile::tempdir().unwrap();
    let base = trainer_image().await.unwrap();
    let local = format!("keynet-compliance-ok:{}", &key[4..16].to_ascii_lowercase());
    labelled(config.path(), &base, "", &local);
    push(config.path(), &local, &repository, &key);

    let version = settled(&app, &owner.token, &version_id).await;
    assert_eq!(version["status"], "READY", "{version}");
    for name in [
        "labels",
        "scan.policy",
        "test_run.training",
        "test_run.inference",
    ] {
        assert_eq!(
            check_line(&version, name)["status"],
            "PASSED",
            "{name}: {version}"
        );
    }
    // A ready version is pinned: its manifest cannot be deleted.
    let digest = version["manifestDigest"].as_str().unwrap();
    let admin = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH", "ADMIN"])
        .await;
    let registry = Registry::new(app.url());
    let name = repository.split_once('/').unwrap().1;
    let bearer = registry.bearer(&owner.email, &admin, name, "delete").await;
    let delete = registry
        .call(
            reqwest::Method::DELETE,
            &bearer,
            &format!("/v2/{name}/manifests/{digest}"),
        )
        .await;
    assert_eq!(error_code(delete).await, (403, "DENIED".into()));

    assert_unloaded(config.path(), &version);
}

/// The version's jobs ran the image loaded from the registry; it was removed after them.
fn assert_unloaded(config: &Path, version: &Value) {
    let reference = version["reference"].as_str().unwrap();
    assert!(reference.starts_with("sha256:"), "{version}");
    let inspect = cli(config, &["image", "inspect", reference], None);
    // By its id: no tag, the platform's mark included, holds it.
    assert!(
        !inspect.status.success(),
        "the loaded image {reference} is still on the engine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_that_breaks_the_event_contract_is_rejected_with_what_it_reported() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let (version_id, key, repository) = upload_key(&app, &owner, &org_id, "Silent").await;
    let config = tempfile::tempdir().unwrap();
    // Reports `started` and `completed` only, and exits 0.
    let base = busybox_image().await.unwrap();
    let script = r#"ENTRYPOINT ["/bin/sh", "-c", "echo '{\"event\":\"started\",\"seq\":1,\"ts\":\"2026-01-01T00:00:00Z\",\"total_epochs\":1}' >> ${KEYNET_EVENTS:-/keynet/events.jsonl}; echo '{\"event\":\"completed\",\"seq\":2,\"ts\":\"2026-01-01T00:00:01Z\"}' >> ${KEYNET_EVENTS:-/keynet/events.jsonl}"]
USER 1000"#;
    let local = format!(
        "keynet-compliance-silent:{}",
        &key[4..16].to_ascii_lowercase()
    );
    labelled(config.path(), &base, script, &local);
    push(config.path(), &local, &repository, &key);

    let version = settled(&app, &owner.token, &version_id).await;
    assert_eq!(version["status"], "REJECTED", "{version}");
    let training = check_line(&version, "test_run.training");
    assert_eq!(training["status"], "FAILED");
    let message = training["message"].as_str().unwrap();
    assert!(
        message.contains("it reported started, completed"),
        "{message}"
    );
    assert_unloaded(config.path(), &version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_save_archive_pushed_with_an_upload_key_becomes_a_ready_version() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let (version_id, key, _) = upload_key(&app, &owner, &org_id, "Saved").await;
    let config = tempfile::tempdir().unwrap();
    let base = trainer_image().await.unwrap();
    let local = format!(
        "keynet-compliance-saved:{}",
        &key[4..16].to_ascii_lowercase()
    );
    labelled(config.path(), &base, "", &local);
    let archive = config.path().join("image.tar");
    cli_ok(
        config.path(),
        &["save", "-o", archive.to_str().unwrap(), &local],
        None,
    );
    cli_ok(config.path(), &["rmi", &local], None);

    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/trainer-uploads/{key}/archive",
            app.url()
        ))
        .body(std::fs::read(&archive).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let version = settled(&app, &owner.token, &version_id).await;
    assert_eq!(version["status"], "READY", "{version}");
    assert_unloaded(config.path(), &version);
}
