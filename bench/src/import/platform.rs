//! The whole platform path, for scale: the platform in process on SQLite with the local
//! blob store, a dataset created through GraphQL, the zip sent by the direct upload
//! (`POST /api/v1/datasets/{id}/upload`), then the import task run by the workers (unpack
//! and check, store each image content-addressed, write the manifest) until the dataset is
//! `READY`. Wall time only: client, server and workers share this process.

use anyhow::{Context, Result, bail, ensure};
use keynet_testkit::{Backend, Gql, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Longer than any import this benchmark plans; a stuck import must not hang the run.
const IMPORT_DEADLINE: Duration = Duration::from_secs(600);
/// Short next to an import's seconds, long enough not to load the server.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

#[derive(Clone, Copy, Debug)]
pub struct PlatformRun {
    /// From the start of the upload to its `202 Accepted` (the archive is in the blob store).
    pub upload: Duration,
    /// From the start of the upload until the dataset is `READY`.
    pub total: Duration,
}

/// One import on a freshly launched platform (fresh database and blob store, so no image
/// is already stored), stopped again afterwards.
pub async fn import_through_platform(zip: &Path, expected_images: usize) -> Result<PlatformRun> {
    let archive = tokio::fs::read(zip)
        .await
        .with_context(|| format!("cannot read {}", zip.display()))?;
    // The test kit panics on set-up failures; a task turns a panic into an error.
    let app = tokio::spawn(TestApp::spawn(Backend::Sqlite))
        .await
        .context("cannot launch the platform on SQLite")?;
    let gql = app.gql.clone();
    let outcome =
        tokio::spawn(async move { upload_and_wait(&gql, archive, expected_images).await }).await;
    tokio::spawn(app.stop())
        .await
        .context("the platform did not stop cleanly")?;
    outcome.context("the platform measurement panicked")?
}

/// A detection dataset in a new organization; returns the owner's token and its id.
async fn detection_dataset(gql: &Gql) -> Result<(String, String)> {
    let owner = gql.signup("owner@bench.example").await;
    let org = gql.create_org(&owner, "bench").await;
    let project = gql
        .data(
            Some(&owner.token),
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
            json!({"i": {"orgId": org, "title": "Import bench", "taskType": "DETECTION"}}),
        )
        .await;
    let project = id_at(&project, "createProject")?;
    let dataset = gql
        .data(
            Some(&owner.token),
            "mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }",
            json!({"i": {"projectId": project, "name": "Generated", "taskTypes": ["DETECTION"]}}),
        )
        .await;
    Ok((owner.token, id_at(&dataset, "createDataset")?))
}

fn id_at(data: &Value, field: &str) -> Result<String> {
    data[field]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {field}.id in {data}"))
}

async fn upload_and_wait(
    gql: &Gql,
    archive: Vec<u8>,
    expected_images: usize,
) -> Result<PlatformRun> {
    let (token, dataset) = detection_dataset(gql).await?;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(archive).file_name("dataset.zip"),
    );
    let started = Instant::now();
    let response = gql
        .http
        .post(format!("{}/api/v1/datasets/{dataset}/upload", gql.base_url))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .context("the upload request failed")?;
    let status = response.status();
    ensure!(
        status.as_u16() == 202,
        "the upload answered {status}: {}",
        response.text().await.unwrap_or_default()
    );
    let upload = started.elapsed();
    let state = wait_until_imported(gql, &token, &dataset).await?;
    let total = started.elapsed();
    check_imported(&state, expected_images)?;
    Ok(PlatformRun { upload, total })
}

/// Polls the dataset until its import is over; returns its last state.
async fn wait_until_imported(gql: &Gql, token: &str, dataset: &str) -> Result<Value> {
    let query = "query($d: ID!) { dataset(id: $d) { importStatus statistics } }";
    let deadline = Instant::now() + IMPORT_DEADLINE;
    while Instant::now() < deadline {
        let state = gql.data(Some(token), query, json!({"d": dataset})).await;
        let dataset_state = &state["dataset"];
        if matches!(
            dataset_state["importStatus"].as_str(),
            Some("READY" | "FAILED")
        ) {
            return Ok(dataset_state.clone());
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    bail!(
        "the import did not finish within {} s",
        IMPORT_DEADLINE.as_secs()
    )
}

fn check_imported(state: &Value, expected_images: usize) -> Result<()> {
    ensure!(
        state["importStatus"] == "READY",
        "the platform refused the import: {state}"
    );
    let images = state["statistics"]["images"].as_u64();
    ensure!(
        images == Some(expected_images as u64),
        "the platform imported {images:?} images, not {expected_images}"
    );
    Ok(())
}
