//! `POST /api/v1/trainer-uploads/{key}/archive`: an OCI image layout tar pushed with an
//! upload key becomes the key's version, exactly as a `docker push` would; hostile and
//! broken archives, unknown and used keys are refused with a status and a JSON reason.
//! (`docker save` archives are pushed in `trainer_compliance.rs`, on the Docker engine.)

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_testkit::registry::{image_config, oci_layout_archive, tar_layer, tar_with_raw_path};
use keynet_testkit::{Backend, TestApp};
use serde_json::{Value, json};

const LABELS: [(&str, &str); 2] = [
    ("ai.keynet.trainer.task-types", "classification"),
    ("ai.keynet.trainer.frameworks", "pytorch"),
];

async fn post(app: &TestApp, key: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/trainer-uploads/{key}/archive",
            app.url()
        ))
        .header("content-type", "application/x-tar")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oci_layout_archive_becomes_the_keys_version_and_bad_archives_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let upload = app
        .data(
            Some(&owner.token),
            "mutation($input: RequestTrainerUploadInput!) { requestTrainerUpload(input: $input) { id uploadKey } }",
            json!({"input": {"projectId": project, "modelName": "Archived"}}),
        )
        .await["requestTrainerUpload"]
        .clone();
    let key = upload["uploadKey"].as_str().unwrap();
    let version_id = upload["id"].as_str().unwrap();

    // Not a tar, a path leaving the archive, an archive of neither layout: 400, field
    // `archive`, and the key stays usable.
    let traversal = tar_with_raw_path("../../etc/cron.d/evil", b"* * * * * root sh");
    let neither = tar_layer(&[("hello.txt", b"hi", 0o644)]);
    for (body, reason) in [
        (b"definitely not a tar archive, just text".repeat(20), "tar"),
        (traversal, "leaves the archive"),
        (neither.clone(), "neither index.json"),
    ] {
        let (status, error) = post(&app, key, body).await;
        assert_eq!(status, 400, "{error}");
        let error = &error["errors"][0];
        assert_eq!(error["extensions"]["field"], "archive", "{error}");
        assert!(
            error["message"].as_str().unwrap().contains(reason),
            "{error}"
        );
    }
    let (status, _) = post(&app, "kup_unknown", neither).await;
    assert_eq!(status, 403);

    let layer = tar_layer(&[("train", b"#!/bin/sh\n", 0o755)]);
    let config = image_config(&LABELS, &[&layer]);
    let (status, pushed) = post(&app, key, oci_layout_archive(&config, &[&layer])).await;
    assert_eq!(status, 201, "{pushed}");
    let digest = pushed["digest"].as_str().unwrap();
    let version = app
        .data(
            Some(&owner.token),
            "query($id: ID!) { trainerVersion(id: $id) { status manifestDigest } }",
            json!({"id": version_id}),
        )
        .await["trainerVersion"]
        .clone();
    assert_eq!(version["manifestDigest"], digest);
    assert_ne!(version["status"], "AWAITING_UPLOAD");

    // The key is used up.
    let (status, error) = post(&app, key, oci_layout_archive(&config, &[&layer])).await;
    assert_eq!(status, 403, "{error}");
}
