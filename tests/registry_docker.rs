//! The registry against the real Docker client: `docker login`, `docker push` of an image
//! built by the test, then `docker pull` of it back by tag and by digest after the local
//! copy is removed. Docker treats registries on 127.0.0.0/8 as insecure-allowed, so the
//! test server's plain HTTP is used as it is.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use keynet_testkit::docker::busybox_image;
use keynet_testkit::registry::Registry;
use keynet_testkit::{Backend, TestApp};
use reqwest::Method;
use serde_json::Value;

/// Runs the docker CLI with its own configuration folder (so credentials stay in the test),
/// feeding `stdin`.
fn docker(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut child = Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the docker CLI runs (see .ci/run)");
    let mut input = child.stdin.take().unwrap();
    if let Some(stdin) = stdin {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn succeeded(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_push_and_pull_round_trip() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let slug = app
        .create_trainer(&owner.token, &org_id, "Docker Pushed")
        .await;
    let push_token = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    let host = app.url().trim_start_matches("http://").to_string();
    let repository = format!("{host}/acme/{slug}");
    let config = tempfile::tempdir().unwrap();
    let config = config.path();

    // Without credentials the push is refused by the registry's challenge.
    let image = busybox_image().await.unwrap();
    succeeded(
        &docker(config, &["tag", &image, &format!("{repository}:v1")], None),
        "docker tag",
    );
    let anonymous = docker(config, &["push", &format!("{repository}:v1")], None);
    assert!(!anonymous.status.success(), "an anonymous push must fail");

    let login = docker(
        config,
        &["login", &host, "-u", &owner.email, "--password-stdin"],
        Some(&push_token),
    );
    succeeded(&login, "docker login");
    let pushed = succeeded(
        &docker(config, &["push", &format!("{repository}:v1")], None),
        "docker push",
    );
    let pushed_digest = pushed
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("docker push printed no digest: {pushed}"))
        .to_string();

    // The registry serves the manifest docker pushed, under the tag and its digest.
    let registry = Registry::new(app.url());
    let bearer = registry
        .bearer(&owner.email, &push_token, &format!("acme/{slug}"), "pull")
        .await;
    let tags: Value = registry
        .send(
            Method::GET,
            Some(&bearer),
            &format!("/v2/acme/{slug}/tags/list"),
            &[],
            vec![],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
    let manifest = registry
        .send(
            Method::HEAD,
            Some(&bearer),
            &format!("/v2/acme/{slug}/manifests/v1"),
            &[(
                "accept",
                "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
            )],
            vec![],
        )
        .await;
    assert_eq!(manifest.status(), 200);
    assert_eq!(
        manifest.headers()["docker-content-digest"]
            .to_str()
            .unwrap(),
        pushed_digest
    );

    // Removing the local copy and pulling it back yields the same image.
    succeeded(
        &docker(config, &["rmi", &format!("{repository}:v1")], None),
        "docker rmi",
    );
    succeeded(
        &docker(config, &["pull", &format!("{repository}:v1")], None),
        "docker pull by tag",
    );
    let by_digest = format!("{repository}@{pushed_digest}");
    succeeded(
        &docker(config, &["pull", &by_digest], None),
        "docker pull by digest",
    );
    let pulled_id = succeeded(
        &docker(
            config,
            &["image", "inspect", "--format", "{{.Id}}", &by_digest],
            None,
        ),
        "docker image inspect",
    );
    assert_eq!(pulled_id.trim(), image);

    // A second push of the same image uploads nothing new: every layer already exists.
    succeeded(
        &docker(config, &["tag", &image, &format!("{repository}:v2")], None),
        "docker tag v2",
    );
    let again = succeeded(
        &docker(config, &["push", &format!("{repository}:v2")], None),
        "docker push v2",
    );
    assert!(again.contains("exists"), "{again}");

    for tag in ["v1", "v2"] {
        docker(config, &["rmi", &format!("{repository}:{tag}")], None);
    }
}
