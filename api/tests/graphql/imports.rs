//! Getting a dataset in: signed upload URL, PUT, complete, import by the workers; the
//! direct multipart upload; refused archives that leave the dataset as it was.

use keynet_testkit::{Account, TestApp, fixtures};
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "mutation($d: ID!, $f: String!, $s: Int!) { createDatasetUpload(datasetId: $d, filename: $f, sizeBytes: $s) { uploadUrl upload { id status } } }";
const COMPLETE: &str =
    "mutation($u: ID!) { completeDatasetUpload(uploadId: $u) { status sizeBytes } }";
const STATE: &str = "query($d: ID!) { dataset(id: $d) { importStatus format statistics importErrors { edges { node { file reason } } } uploads { edges { node { status errorCount } } } } }";

on_both_backends!(
    archives_are_uploaded_and_imported,
    refused_archives_change_nothing
);

async fn dataset(app: &TestApp, owner: &Account) -> String {
    let org = app.create_org(owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let created = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Photos\"}) { id } }",
            json!({"p": project}),
        )
        .await;
    created["createDataset"]["id"].as_str().unwrap().to_string()
}

/// Uploads through a signed URL and completes; returns the dataset's state once the import
/// is over (bounded wait).
async fn upload_and_wait(app: &TestApp, owner: &Account, dataset: &str, archive: Vec<u8>) -> Value {
    let started = app
        .data(
            Some(&owner.token),
            START,
            json!({"d": dataset, "f": "photos.zip", "s": archive.len()}),
        )
        .await["createDatasetUpload"]
        .clone();
    assert_eq!(started["upload"]["status"], "AWAITING_UPLOAD");
    let url = started["uploadUrl"].as_str().unwrap();
    let put = app.http.put(url).body(archive).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 200, "{}", put.text().await.unwrap());
    let completed = app
        .data(
            Some(&owner.token),
            COMPLETE,
            json!({"u": started["upload"]["id"]}),
        )
        .await;
    assert_eq!(completed["completeDatasetUpload"]["status"], "QUEUED");
    wait_for_import(app, owner, dataset).await
}

async fn wait_for_import(app: &TestApp, owner: &Account, dataset: &str) -> Value {
    for _ in 0..300 {
        let state = app
            .data(Some(&owner.token), STATE, json!({"d": dataset}))
            .await["dataset"]
            .clone();
        if matches!(state["importStatus"].as_str(), Some("READY" | "FAILED")) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

async fn archives_are_uploaded_and_imported(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let state = upload_and_wait(
        app,
        &owner,
        &dataset,
        fixtures::image_folder(&[("ok", 6), ("scratch", 4)]),
    )
    .await;
    assert_eq!(state["importStatus"], "READY", "{state:#}");
    assert_eq!(state["format"], "image_folder");
    assert_eq!(state["statistics"]["images"], 10);
    assert_eq!(state["statistics"]["classes"], 2);
    assert_eq!(
        state["uploads"]["edges"][0]["node"],
        json!({"status": "SUCCEEDED", "errorCount": 0})
    );
    let storage = "query { organization(slug: \"acme\") { storageBytes } }";
    let stored =
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"]
            .as_i64()
            .unwrap();
    assert!(stored > 0);

    // The same images again, by the direct upload: nothing new to store but the manifest.
    let archive = fixtures::image_folder(&[("ok", 6), ("scratch", 4)]);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(archive).file_name("again.zip"),
    );
    let response = app
        .http
        .post(format!("{}/api/v1/datasets/{dataset}/upload", app.url()))
        .bearer_auth(&owner.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let state = wait_for_import(app, &owner, &dataset).await;
    assert_eq!(state["importStatus"], "READY");
    assert_eq!(state["uploads"]["edges"][0]["node"]["status"], "SUCCEEDED");
    let again =
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"]
            .as_i64()
            .unwrap();
    assert_eq!(
        again, stored,
        "identical images and manifest are stored once"
    );
}

async fn refused_archives_change_nothing(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let good = upload_and_wait(
        app,
        &owner,
        &dataset,
        fixtures::image_folder(&[("a", 3), ("b", 3)]),
    )
    .await;
    assert_eq!(good["importStatus"], "READY");

    let bad = fixtures::zip(&[
        ("a/1.png".into(), fixtures::png(8, 8, 1)),
        ("a/notes.txt".into(), b"not an image".to_vec()),
        ("../escape.png".into(), fixtures::png(8, 8, 2)),
    ]);
    let state = upload_and_wait(app, &owner, &dataset, bad).await;
    assert_eq!(state["importStatus"], "FAILED");
    let errors = state["importErrors"]["edges"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors[0]["node"]["reason"].as_str().unwrap().len() > 5,
        "{errors:?}"
    );
    assert_eq!(
        state["statistics"], good["statistics"],
        "the dataset keeps its content"
    );

    // Declared sizes, names and ids are checked before anything is stored.
    for (vars, field) in [
        (
            json!({"d": dataset, "f": "photos.tar", "s": 10}),
            "filename",
        ),
        (
            json!({"d": dataset, "f": "../photos.zip", "s": 10}),
            "filename",
        ),
        (
            json!({"d": dataset, "f": "photos.zip", "s": 0}),
            "sizeBytes",
        ),
    ] {
        let (code, error) = app.error(Some(&owner.token), START, vars).await;
        assert_eq!(
            (code.as_str(), &error["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!(field))
        );
    }
    let started = app
        .data(
            Some(&owner.token),
            START,
            json!({"d": dataset, "f": "x.zip", "s": 100}),
        )
        .await;
    let upload = &started["createDatasetUpload"]["upload"]["id"];
    let (code, error) = app
        .error(Some(&owner.token), COMPLETE, json!({"u": upload}))
        .await;
    assert_eq!(
        (code.as_str(), error["message"].as_str().unwrap()),
        ("BAD_USER_INPUT", "nothing was uploaded yet")
    );
    let url = started["createDatasetUpload"]["uploadUrl"]
        .as_str()
        .unwrap();
    let short = app.http.put(url).body(vec![0u8; 40]).send().await.unwrap();
    assert_eq!(short.status().as_u16(), 400, "a short upload is refused");
    let tampered = app
        .http
        .put(url.replace("signature=", "signature=00"))
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status().as_u16(), 403);

    let response = app
        .http
        .post(format!("{}/api/v1/datasets/{dataset}/upload", app.url()))
        .multipart(reqwest::multipart::Form::new().text("file", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        401,
        "the direct upload needs a token"
    );
}
