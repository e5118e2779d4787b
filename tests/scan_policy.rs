//! An organization's scan policy: admins set it, a malformed one is refused naming the
//! field, and the scan of the organization's next push applies it — an active allowlist
//! entry lets a finding through, an expired one does not and the rejection says so.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_testkit::registry::{Registry, image_config, tar_layer};
use keynet_testkit::{Backend, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

const LABELS: [(&str, &str); 2] = [
    ("ai.keynet.trainer.task-types", "classification"),
    ("ai.keynet.trainer.frameworks", "pytorch"),
];
const KEY: &[u8] = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDVZsgYw6FLfzCuA3LZCx7DDgKvsjhJfzAYNcd1NZJ6pAAAAJgRfKJJEXyi\n-----END OPENSSH PRIVATE KEY-----\n";
const SET: &str = "mutation($o: ID!, $p: JSON!) { setScanPolicy(orgId: $o, policy: $p) }";

fn allow_key(expires_at: &str) -> Value {
    json!({"allowlist": [{
        "rule": "secret.private-key",
        "path": "/opt/fixtures/",
        "expires_at": expires_at,
        "reason": "a test fixture key, not a credential",
    }]})
}

/// Pushes an image with the key under /opt/fixtures as `tag`; the scan's policy line once
/// the scan is over.
async fn push_and_scan(
    app: &TestApp,
    registry: &Registry,
    bearer: &str,
    repo: &str,
    tag: &str,
    token: &str,
    org: &str,
) -> (String, Value) {
    let layer = tar_layer(&[
        ("train", b"#!/bin/sh\n", 0o755),
        (&format!("opt/fixtures/{tag}.key"), KEY, 0o644),
    ]);
    let config = image_config(&LABELS, &[&layer]);
    let pushed = registry
        .push_image(bearer, repo, tag, &config, &[&layer])
        .await;
    assert_eq!(pushed.status(), 201);
    let digest = pushed.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    for _ in 0..600 {
        let versions = app
            .data(
                Some(token),
                "query($o: ID!) { trainers(orgId: $o) { nodes { versions { status manifestDigest checks { name status message } } } } }",
                json!({"o": org}),
            )
            .await;
        let version = versions["trainers"]["nodes"][0]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["manifestDigest"] == digest.as_str())
            .cloned()
            .unwrap();
        let policy = version["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "scan.policy")
            .cloned();
        if let Some(policy) = policy {
            return (version["status"].as_str().unwrap().to_string(), policy);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the scan did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizations_policy_decides_and_allowlist_entries_expire() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("owner@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;

    // The default until set.
    let policy = app
        .data(
            Some(&owner.token),
            "query($o: ID!) { scanPolicy(orgId: $o) }",
            json!({"o": org_id}),
        )
        .await["scanPolicy"]
        .clone();
    assert_eq!(policy["block_with_fix"], json!(["CRITICAL", "HIGH"]));
    assert_eq!(policy["block_secrets"], true);

    // A malformed policy names its field; nothing is stored.
    let (code, error) = app
        .error(
            Some(&owner.token),
            SET,
            json!({"o": org_id, "p": {"allowlist": [{"rule": "secret.private-key", "expires_at": "next week", "reason": "x"}]}}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(
        error["extensions"]["field"],
        "policy.allowlist[0].expires_at"
    );

    // Members may read it, not change it.
    let member = app
        .join(&owner, &org_id, "member@example.com", "MEMBER")
        .await;
    let refused = app
        .code(
            Some(&member.token),
            SET,
            json!({"o": org_id, "p": allow_key("2999-01-01T00:00:00Z")}),
        )
        .await;
    assert_eq!(refused, "FORBIDDEN");

    let slug = app.create_trainer(&owner.token, &org_id, "Keyed").await;
    let push = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    let registry = Registry::new(app.url());
    let repo = format!("acme/{slug}");
    let bearer = registry
        .bearer(&owner.email, &push, &repo, "push,pull")
        .await;

    // An active entry accepts the key.
    app.data(
        Some(&owner.token),
        SET,
        json!({"o": org_id, "p": allow_key("2999-01-01T00:00:00Z")}),
    )
    .await;
    let (status, policy) = push_and_scan(
        &app,
        &registry,
        &bearer,
        &repo,
        "allowed",
        &owner.token,
        &org_id,
    )
    .await;
    assert_eq!(policy["status"], "PASSED", "{policy}");
    assert!(
        policy["message"]
            .as_str()
            .unwrap()
            .contains("1 findings accepted"),
        "{policy}"
    );
    assert_ne!(status, "VALIDATING");

    // Expired: the same finding blocks, and the reason says the allowance expired.
    app.data(
        Some(&owner.token),
        SET,
        json!({"o": org_id, "p": allow_key("2020-01-01T00:00:00Z")}),
    )
    .await;
    let (status, policy) = push_and_scan(
        &app,
        &registry,
        &bearer,
        &repo,
        "expired",
        &owner.token,
        &org_id,
    )
    .await;
    assert_eq!(status, "REJECTED");
    assert_eq!(policy["status"], "FAILED");
    let message = policy["message"].as_str().unwrap();
    assert!(
        message.contains("/opt/fixtures/expired.key") && message.contains("expired"),
        "{message}"
    );
}
