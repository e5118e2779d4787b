//! The registry against the real Docker client: `docker login`, `docker push` of an image
//! built by the test, then `docker pull` of it back by tag and by digest after the local
//! copy is removed. Docker treats registries on 127.0.0.0/8 as insecure-allowed, so the
//! test server's plain HTTP is used as it is.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_testkit::docker::{busybox_image, cli, cli_ok};
use keynet_testkit::registry::Registry;
use keynet_testkit::{Backend, TestApp};
use reqwest::Method;
use serde_json::Value;

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
    cli_ok(config, &["tag", &image, &format!("{repository}:v1")], None);
    let anonymous = cli(config, &["push", &format!("{repository}:v1")], None);
    assert!(!anonymous.status.success(), "an anonymous push must fail");

    cli_ok(
        config,
        &["login", &host, "-u", &owner.email, "--password-stdin"],
        Some(&push_token),
    );
    let pushed = cli_ok(config, &["push", &format!("{repository}:v1")], None);
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
        .call(Method::GET, &bearer, &format!("/v2/acme/{slug}/tags/list"))
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
    cli_ok(config, &["rmi", &format!("{repository}:v1")], None);
    cli_ok(config, &["pull", &format!("{repository}:v1")], None);
    let by_digest = format!("{repository}@{pushed_digest}");
    cli_ok(config, &["pull", &by_digest], None);
    let pulled_id = cli_ok(
        config,
        &["image", "inspect", "--format", "{{.Id}}", &by_digest],
        None,
    );
    assert_eq!(pulled_id.trim(), image);

    // A second push of the same image uploads nothing new: every layer already exists.
    cli_ok(config, &["tag", &image, &format!("{repository}:v2")], None);
    let again = cli_ok(config, &["push", &format!("{repository}:v2")], None);
    assert!(again.contains("exists"), "{again}");

    for tag in ["v1", "v2"] {
        cli(config, &["rmi", &format!("{repository}:{tag}")], None);
    }
}
