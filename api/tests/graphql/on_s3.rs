//! The platform on the S3 store (a real `s3s-fs` server) with PostgreSQL: an upload through
//! a presigned URL, its import, a snapshot and its download, and a job whose dataset comes
//! from S3 and whose checkpoints go there; the console's policy lets its pages reach S3.

use keynet_api::settings::{DockerMode, StorageBackend};
use keynet_testkit::s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use keynet_testkit::trainer::{TRAINER, install_program};
use keynet_testkit::{Backend, TestApp, fixtures};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_and_jobs_live_on_s3() {
    let s3 = S3Server::start().await;
    let endpoint = s3.endpoint.clone();
    let app = TestApp::spawn_with(Backend::Postgres, move |settings| {
        settings.storage.backend = StorageBackend::S3;
        settings.storage.s3.endpoint = Some(endpoint);
        settings.storage.s3.bucket = BUCKET.into();
        settings.storage.s3.path_style = true;
        settings.storage.s3.access_key_id = ACCESS_KEY.into();
        settings.storage.s3.secret_access_key = SECRET_KEY.into();
        settings.executor.docker = DockerMode::Off;
    })
    .await;
    // The console's pages may send uploads to the bucket and show its images.
    let console = app.get("/").await;
    let csp = console.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    for directive in ["connect-src 'self' ", "img-src 'self' data: blob: "] {
        assert!(
            csp.contains(&format!("{directive}{};", s3.endpoint)),
            "{csp}"
        );
    }
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let dataset = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Photos\"}) { id } }",
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The signed upload URL is S3's own presigned PUT.
    let archive = fixtures::image_folder(&[("bolt", 5), ("nut", 5)]);
    let started = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!, $s: Int!) { createDatasetUpload(datasetId: $d, filename: \"d.zip\", sizeBytes: $s) { uploadUrl upload { id } } }",
            json!({"d": dataset, "s": archive.len()}),
        )
        .await["createDatasetUpload"]
        .clone();
    let url = started["uploadUrl"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint), "{url}");
    let put = app.http.put(url).body(archive).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    app.data(
        Some(&owner.token),
        "mutation($u: ID!) { completeDatasetUpload(uploadId: $u) { status } }",
        json!({"u": started["upload"]["id"]}),
    )
    .await;
    assert_eq!(app.wait_for_import(&owner.token, &dataset).await, "READY");
    let snapshot = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id downloadUrl } }",
            json!({"d": dataset}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    let zip = app
        .http
        .get(snapshot["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let archive =
        zip::ZipArchive::new(std::io::Cursor::new(zip.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(
        archive
            .file_names()
            .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("images/")))
            .count(),
        10
    );

    // A job reads its dataset from S3 and its checkpoints are stored there.
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let version = app
        .register_trainer(&owner.token, &org, TRAINER, &image)
        .await;
    let job = app
        .start_training(
            &owner.token,
            &project,
            &version,
            snapshot["id"].as_str().unwrap(),
            json!({}),
        )
        .await;
    assert_eq!(
        app.wait_for_job(&owner.token, &job, &[]).await["status"],
        "SUCCEEDED"
    );
    let checkpoints = app
        .data(
            Some(&owner.token),
            "query($j: ID!) { job(id: $j) { checkpoints { sizeBytes downloadUrl } } }",
            json!({"j": job}),
        )
        .await;
    for checkpoint in checkpoints["job"]["checkpoints"].as_array().unwrap() {
        let url = checkpoint["downloadUrl"].as_str().unwrap();
        assert!(url.starts_with(&s3.endpoint), "{url}");
        let bytes = app
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            bytes.len() as i64,
            checkpoint["sizeBytes"].as_i64().unwrap()
        );
    }
    app.stop().await;
}
