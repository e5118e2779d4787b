//! The web console end to end, in a real browser: Debian's Chromium, driven by Playwright
//! (`web/e2e/`, run with Node.js), against the built `keynet serve` on the embedded default
//! (SQLite, emails in the outbox, jobs run by the process executor). The browser script
//! signs up, verifies from the outbox's email, creates an organization, invites a second
//! user who accepts, uploads a dataset, trains while the chart grows, downloads a
//! checkpoint and runs inference; it checks each main screen with axe-core and writes a
//! screenshot of it to `web/test-artifacts/`.

mod support;

use keynet_testkit::fixtures;
use keynet_testkit::trainer::{TRAINER, install_program};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use support::Keynet;
use tokio::process::Command;

/// Where the screenshots go, for CI to keep.
fn artifacts() -> PathBuf {
    web().join("test-artifacts")
}

fn web() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

#[tokio::test]
async fn a_new_user_trains_and_predicts_in_the_console() {
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let trainer = install_program(TRAINER, &data_dir.path().join("trainers"))
        .expect("the reference trainer builds");
    let fixtures_dir = tempfile::tempdir().expect("a temporary folder");
    let dataset = fixtures_dir.path().join("parts.zip");
    std::fs::write(
        &dataset,
        fixtures::image_folder(&[("cat", 12), ("dog", 12)]),
    )
    .expect("the dataset is written");
    let image = fixtures_dir.path().join("photo.png");
    std::fs::write(&image, fixtures::png(32, 24, 5)).expect("the image is written");
    // An archive the import refuses, naming the file: one "image" is text.
    let broken = fixtures_dir.path().join("broken.zip");
    std::fs::write(
        &broken,
        fixtures::zip(&[
            ("cat/broken.png".into(), b"this is no image".to_vec()),
            ("dog/fine.png".into(), fixtures::png(16, 12, 9)),
        ]),
    )
    .expect("the broken dataset is written");

    let dir = data_dir.path().display().to_string();
    let mut server = Keynet::start(
        "keynet serve",
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", &dir],
        &[("KEYNET_EXECUTOR__DOCKER", "off".into())],
        data_dir.path(),
    );
    let url = server.wait_listening().await;
    server.wait_healthy(&url).await;

    std::fs::create_dir_all(artifacts()).expect("the artifacts folder");
    let npm = std::env::var("KEYNET_NPM").unwrap_or_else(|_| "npm".into());
    let status = Command::new(npm)
        .args(["run", "e2e"])
        .current_dir(web())
        .env("KEYNET_URL", &url)
        .env("KEYNET_OUTBOX", data_dir.path().join("outbox"))
        .env("KEYNET_TRAINER_IMAGE", &trainer)
        .env("KEYNET_DATASET_ZIP", &dataset)
        .env("KEYNET_BROKEN_DATASET_ZIP", &broken)
        .env("KEYNET_INFERENCE_IMAGE", &image)
        .env("KEYNET_ARTIFACTS", artifacts())
        .stdin(Stdio::null())
        .status()
        .await
        .expect("npm runs the browser test (Node.js and npm are needed)");
    assert!(
        status.success(),
        "the browser test failed ({status}); its output is above, the server's:\n{}",
        server.output()
    );
    server
        .stop_gracefully(std::time::Duration::from_secs(10))
        .await;
}
