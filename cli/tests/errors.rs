//! Every way a command can go wrong ends with one clear line, a hint, the exit code of its
//! family, and nothing half-done: no configuration written by a failed login, no upload key
//! requested (so no version left waiting for an upload) by a push that fails before step 6
//! — a bad input, a failed build, a base image that cannot be pulled, an image without the
//! frameworks label.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

mod common;

use common::{TRAIN_PY, keynet_train, login};
use keynet_testkit::docker::busybox_image;
use keynet_testkit::{Backend, TestApp};
use serde_json::json;
use std::path::Path;

async fn app() -> TestApp {
    TestApp::spawn(Backend::Sqlite).await
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

async fn versions_of(app: &TestApp, token: &str, org_id: &str) -> usize {
    let data = app
        .data(
            Some(token),
            "query($org: ID!) { trainers(orgId: $org) { nodes { versions { id } } } }",
            json!({"org": org_id}),
        )
        .await;
    data["trainers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["versions"].as_array().unwrap().len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refuses_bad_input_and_saves_nothing() {
    let app = app().await;
    app.signup("author@example.com").await;
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    let password = format!("{}\n", keynet_testkit::gql::PASSWORD);
    let server = app.url();
    let by_password = |server: &'static str| {
        [
            "login",
            "--server",
            server,
            "--email",
            "author@example.com",
            "--password-stdin",
        ]
    };
    let cases = vec![
        (
            by_password("keynet.example.com").to_vec(),
            Some("x\n"),
            2,
            "is not a server URL",
            None,
        ),
        (
            vec!["login", "--email", "a@b.c", "--password-stdin"],
            Some("x\n"),
            2,
            "which server?",
            None,
        ),
        // Nothing listens on port 9 of loopback.
        (
            by_password("http://127.0.0.1:9").to_vec(),
            Some("x\n"),
            6,
            "cannot reach http://127.0.0.1:9/graphql",
            Some("Check the server URL"),
        ),
        (
            vec![
                "login",
                "--server",
                server,
                "--email",
                "author@example.com",
                "--password-stdin",
            ],
            Some("wrong password\n"),
            4,
            "the server refused",
            Some("Run: keynet-train login"),
        ),
        (
            vec!["login", "--server", server, "--email", "author@example.com"],
            None,
            2,
            "no terminal to ask for your password",
            None,
        ),
        (
            vec!["login", "--server", server, "--token", "kn_not-a-token"],
            None,
            4,
            "the server refused",
            Some("Run: keynet-train login"),
        ),
        // The account belongs to no organization yet.
        (
            vec![
                "login",
                "--server",
                server,
                "--email",
                "author@example.com",
                "--password-stdin",
            ],
            Some(password.as_str()),
            5,
            "you belong to no organization",
            None,
        ),
    ];
    for (args, stdin, code, message, hint) in cases {
        keynet_train(dir, dir, &args, stdin)
            .await
            .fails(code, message, hint);
    }
    assert!(!dir.join("config.json").exists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_token_signs_in_and_logout_forgets_it() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let acme = app.create_org(&owner, "acme").await;
    app.create_org(&owner, "globex").await;
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();

    // Two organizations and no terminal: the choice must be given.
    login(dir, app.url(), &owner.email).await.fails(
        2,
        "several organizations (acme, globex)",
        None,
    );
    keynet_train(
        dir,
        dir,
        &[
            "login",
            "--server",
            app.url(),
            "--email",
            &owner.email,
            "--password-stdin",
            "--org",
            "initech",
        ],
        Some(&format!("{}\n", keynet_testkit::gql::PASSWORD)),
    )
    .await
    .fails(5, "not a member of an organization \"initech\"", None);

    let token = app.api_token(&owner.token, &acme, &["TRAINER_PUSH"]).await;
    let signed_in = keynet_train(
        dir,
        dir,
        &["login", "--server", app.url(), "--token", &token],
        None,
    )
    .await
    .ok();
    assert!(
        signed_in.stdout.contains("for acme"),
        "{}",
        signed_in.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["api_token"], token.as_str());
    // A push token may not list tokens, so its expiry is not known here.
    assert!(saved["api_token_expires_at"].is_null(), "{saved}");
    assert_eq!(saved["org"]["slug"], "acme");
    keynet_train(dir, dir, &["whoami"], None).await.ok();

    let logout = keynet_train(dir, dir, &["logout"], None).await.ok();
    assert!(
        logout.stdout.contains("stays valid until it expires"),
        "{}",
        logout.stdout
    );
    assert!(!dir.join("config.json").exists());
    keynet_train(dir, dir, &["whoami"], None).await.fails(
        4,
        "you are not signed in",
        Some("Run: keynet-train login"),
    );
    let again = keynet_train(dir, dir, &["logout"], None).await.ok();
    assert!(
        again.stdout.contains("You were not signed in."),
        "{}",
        again.stdout
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_stops_at_the_first_bad_input_before_asking_for_an_upload_key() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    app.create_project(&owner.token, &org_id, "Stems").await;
    let other = app.signup("rival@example.com").await;
    let rival_org = app.create_org(&other, "rival").await;
    let rival_project = app.create_project(&other.token, &rival_org, "Secret").await;
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    let context = tempfile::tempdir().unwrap();
    let work = context.path();
    write(work, "train.py", TRAIN_PY);
    write(
        work,
        "broken.py",
        "import argparse\n\ndef main(:\n    pass\n",
    );

    keynet_train(dir, work, &["push", "train.py"], None)
        .await
        .fails(4, "you are not signed in", Some("Run: keynet-train login"));
    login(dir, app.url(), &owner.email).await.ok();

    keynet_train(dir, work, &["push", "broken.py"], None)
        .await
        .fails(5, "broken.py:3:10: Python syntax error", None);
    keynet_train(dir, work, &["push", "missing.py"], None)
        .await
        .fails(5, "missing.py", None);
    // Two projects and no terminal: the project must be named.
    keynet_train(dir, work, &["push", "train.py", "--yes"], None)
        .await
        .fails(2, "choose one with --project", None);
    // Another organization's project is not found, as if it did not exist.
    keynet_train(
        dir,
        work,
        &["push", "train.py", "--project", &rival_project],
        None,
    )
    .await
    .fails(5, "not found", None);
    // A Dockerfile that is not there is found before an upload key is asked for.
    keynet_train(
        dir,
        work,
        &[
            "push",
            "train.py",
            "--project",
            &project,
            "--dockerfile",
            "nope/Dockerfile",
        ],
        None,
    )
    .await
    .fails(5, "nope/Dockerfile", None);
    assert_eq!(versions_of(&app, &owner.token, &org_id).await, 0);
    assert_eq!(versions_of(&app, &other.token, &rival_org).await, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_or_a_missing_frameworks_label_leaves_no_version() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    login(dir, app.url(), &owner.email).await.ok();
    let context = tempfile::tempdir().unwrap();
    let work = context.path();
    write(work, "train.py", TRAIN_PY);
    let base = busybox_image().await.unwrap();
    write(
        work,
        "Failing.Dockerfile",
        &format!("FROM {base}\nRUN exit 3\n"),
    );
    // Nothing listens on port 1: the base image cannot be pulled.
    write(
        work,
        "Unpullable.Dockerfile",
        "FROM 127.0.0.1:1/keynet/absent:1\n",
    );
    write(work, "Plain.Dockerfile", &format!("FROM {base}\n"));
    let push = |dockerfile: &'static str, extra: &'static [&'static str]| {
        let mut args = vec![
            "push",
            "train.py",
            "--project",
            &project,
            "--dockerfile",
            dockerfile,
        ];
        args.extend_from_slice(extra);
        let (dir, work) = (dir.to_path_buf(), work.to_path_buf());
        async move { keynet_train(&dir, &work, &args, None).await }
    };

    push("Failing.Dockerfile", &["--framework", "pytorch"])
        .await
        .fails(8, "exit", Some("Check your Dockerfile"));
    push("Unpullable.Dockerfile", &["--framework", "pytorch"])
        .await
        .fails(8, "127.0.0.1:1", Some("Check your Dockerfile"));
    push("Plain.Dockerfile", &[])
        .await
        .fails(5, "--allow-no-frameworks", None);
    assert_eq!(
        versions_of(&app, &owner.token, &org_id).await,
        0,
        "no upload key was requested"
    );

    // With the override, the push goes on (to its upload key) with a warning.
    let allowed = push("Plain.Dockerfile", &["--allow-no-frameworks"]).await;
    assert!(
        allowed
            .stderr
            .contains("pushing anyway (--allow-no-frameworks)"),
        "{}",
        allowed.stderr
    );
    assert_eq!(versions_of(&app, &owner.token, &org_id).await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_or_an_unknown_key_or_trainer_is_refused_clearly() {
    let app = app().await;
    let owner = app.signup("author@example.com").await;
    app.create_org(&owner, "acme").await;
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    login(dir, app.url(), &owner.email).await.ok();

    keynet_train(
        dir,
        dir,
        &["status", "kup_unknownunknownunknownunknownunknown00"],
        None,
    )
    .await
    .fails(5, "not found", None);
    keynet_train(dir, dir, &["versions", "nothing-here"], None)
        .await
        .fails(5, "acme has no trainer \"nothing-here\"", None);

    let path = dir.join("config.json");
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved["api_token_expires_at"] = json!("2020-01-01T00:00:00Z");
    std::fs::write(&path, saved.to_string()).unwrap();
    keynet_train(dir, dir, &["whoami"], None).await.fails(
        4,
        "your API token expired at 2020-01-01 00:00 UTC",
        Some("Run: keynet-train login"),
    );

    std::fs::write(&path, "{").unwrap();
    keynet_train(dir, dir, &["whoami"], None).await.fails(
        3,
        "config.json cannot be used",
        Some("Run: keynet-train login"),
    );
    keynet_train(dir, dir, &["bogus"], None)
        .await
        .fails(2, "unrecognized subcommand", None);
    app.stop().await;
}
