//! The whole path on the real server and Docker engine: `login`, `push --wait` of a
//! trainer built from the author's Dockerfile (on the reference trainer), which ends with a
//! READY version carrying the hyperparameters extracted from `train.py`; then `status`,
//! `versions`, `whoami` and `logout`.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

mod common;

use common::{TRAIN_PY, keynet_train, login};
use keynet_api::settings::DockerMode;
use keynet_testkit::docker::{BUSYBOX_TAG, busybox_image};
use keynet_testkit::trainer::trainer_image;
use keynet_testkit::{Backend, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_builds_pushes_and_follows_the_version_until_it_is_ready() {
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        settings.executor.docker = DockerMode::On;
        settings.executor.relay_interval_ms = 50;
    })
    .await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let config = tempfile::tempdir().unwrap();
    let login = login(config.path(), app.url(), &owner.email).await.ok();
    assert!(
        login.stdout.contains("as author@example.com for acme"),
        "{}",
        login.stdout
    );

    let context = tempfile::tempdir().unwrap();
    let base = trainer_image().await.unwrap();
    std::fs::write(context.path().join("train.py"), TRAIN_PY).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY train.py /app/\n"),
    )
    .unwrap();
    std::fs::write(context.path().join(".dockerignore"), "*.ckpt\n").unwrap();
    std::fs::write(context.path().join("huge.ckpt"), vec![0_u8; 1 << 20]).unwrap();
    let push = keynet_train(
        config.path(),
        context.path(),
        &[
            "push",
            "train.py",
            "--dockerfile",
            "Dockerfile",
            "--project",
            &project,
            "--model-name",
            "Leaf Net",
            "--framework",
            "rust",
            "--export-format",
            "onnx",
            "--wait",
        ],
        None,
    )
    .await
    .ok();
    for step in 1..=9 {
        assert!(
            push.stderr.contains(&format!("[{step}/9]")),
            "{}",
            push.stderr
        );
    }
    assert!(push.stderr.contains("data left out"), "{}", push.stderr);
    assert!(push.stdout.contains("version 1: READY"), "{}", push.stdout);
    assert!(
        push.stdout.contains("✓ test_run.training"),
        "{}",
        push.stdout
    );
    let key = push
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("upload key:"))
        .unwrap()
        .trim()
        .to_string();

    // The version declares what train.py's argparse does, and its image was built with
    // the labels and without the ignored checkpoint.
    let trainers = app
        .data(
            Some(&owner.token),
            "query($org: ID!) { trainers(orgId: $org) { nodes { name taskTypes versions { status framework exportFormats hyperparameters { name type default required choices switch } } } } }",
            json!({"org": org_id}),
        )
        .await;
    let trainer = &trainers["trainers"]["nodes"][0];
    assert_eq!(trainer["name"], "Leaf Net");
    assert_eq!(trainer["taskTypes"], json!(["CLASSIFICATION"]));
    let version = &trainer["versions"][0];
    assert_eq!(version["status"], "READY");
    assert_eq!(version["framework"], "rust");
    assert_eq!(version["exportFormats"], json!(["ONNX"]));
    let names: Vec<&str> = version["hyperparameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["epochs", "learning-rate", "optimizer", "amp"]);
    assert_eq!(version["hyperparameters"][0]["default"], 3);
    assert_eq!(
        version["hyperparameters"][2]["choices"],
        json!(["sgd", "adam"])
    );

    let status = keynet_train(config.path(), context.path(), &["status", &key], None)
        .await
        .ok();
    assert!(
        status.stdout.contains("version 1: READY"),
        "{}",
        status.stdout
    );
    let versions = keynet_train(
        config.path(),
        context.path(),
        &["versions", "leaf-net"],
        None,
    )
    .await
    .ok();
    assert!(
        versions.stdout.contains("Leaf Net (leaf-net)"),
        "{}",
        versions.stdout
    );
    assert!(versions.stdout.contains("v1"), "{}", versions.stdout);
    assert!(versions.stdout.contains("READY"), "{}", versions.stdout);

    // Waiting on a settled version returns at once.
    let again = keynet_train(
        config.path(),
        context.path(),
        &["status", &key, "--wait"],
        None,
    )
    .await
    .ok();
    assert!(again.stdout.contains("READY"), "{}", again.stdout);

    let whoami = keynet_train(config.path(), context.path(), &["whoami"], None)
        .await
        .ok();
    assert!(
        whoami.stdout.contains("author@example.com"),
        "{}",
        whoami.stdout
    );
    keynet_train(config.path(), context.path(), &["logout"], None)
        .await
        .ok();
    app.stop().await;
}

/// The generated Dockerfile, on a base image the engine has: a `requirements.txt` that
/// cannot be installed fails the build (exit 8, with the build's last lines), and an image
/// without the frameworks label is pushed, then rejected by validation (exit 5, naming the
/// failed check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_and_a_rejected_version_end_with_their_own_exit_codes() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.executor.docker = DockerMode::On;
    })
    .await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let config = tempfile::tempdir().unwrap();
    login(config.path(), app.url(), &owner.email).await.ok();
    busybox_image().await.unwrap();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("train.py"), TRAIN_PY).unwrap();
    let push = |model: &'static str, extra: &'static [&'static str]| {
        let mut args: Vec<String> = [
            "push",
            "train.py",
            "--base-image",
            BUSYBOX_TAG,
            "--project",
            project.as_str(),
            "--model-name",
            model,
            "--wait",
        ]
        .map(str::to_string)
        .to_vec();
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let (config, context) = (config.path().to_owned(), context.path().to_owned());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            keynet_train(&config, &context, &args, None).await
        }
    };

    std::fs::write(context.path().join("requirements.txt"), "torch==2.3.1\n").unwrap();
    let failed = push("Broken Build", &[]).await.fails(
        8,
        "the image build failed",
        Some("Check your Dockerfile"),
    );
    assert!(failed.stderr.contains("pip"), "{}", failed.stderr);
    let trainers = app
        .data(
            Some(&owner.token),
            "query($org: ID!) { trainers(orgId: $org) { nodes { name } } }",
            json!({"org": org_id}),
        )
        .await;
    assert_eq!(
        trainers["trainers"]["nodes"],
        json!([]),
        "the build failed before an upload key was asked for: no version waits for an upload"
    );

    std::fs::remove_file(context.path().join("requirements.txt")).unwrap();
    // Without frameworks the push refuses unless told to go on; then the server rejects it.
    let rejected = push("No Labels", &["--allow-no-frameworks"]).await.fails(
        5,
        "version 1 was rejected (failed: labels)",
        None,
    );
    assert!(rejected.stdout.contains("REJECTED"), "{}", rejected.stdout);
    assert!(
        rejected
            .stdout
            .contains("ai.keynet.trainer.frameworks is missing"),
        "{}",
        rejected.stdout
    );
    app.stop().await;
}
