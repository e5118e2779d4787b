//! The audit log, as a list and as a live subscription.

use keynet_testkit::TestApp;
use keynet_testkit::ws;
use serde_json::json;
use std::time::Duration;

const AUDIT: &str = "query($o: ID!, $a: String) { auditLog(orgId: $o, action: $a) { edges { node { action targetType targetId actor { email } clientAddress metadata } } } }";

on_both_backends!(
    changes_are_audited,
    audit_entries_stream_live,
    forwarded_addresses_are_trusted_only_when_configured where |s| s.trust_forwarded_for = true,
);

async fn changes_are_audited(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let bob = app.join(&owner, &org, "bob@example.com", "MEMBER").await;
    app.data(
        Some(&owner.token),
        "mutation($o: ID!, $u: ID!) { changeMemberRole(orgId: $o, userId: $u, role: VIEWER) { role } }",
        json!({"o": org, "u": bob.user_id}),
    )
    .await;
    app.create_project(&owner.token, &org, "P").await;

    let log = app.data(Some(&owner.token), AUDIT, json!({"o": org})).await;
    let entries = log["auditLog"]["edges"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "project.created",
            "member.role_changed",
            "invitation.accepted",
            "invitation.created",
            "org.created"
        ],
        "newest first"
    );
    let role_change = &entries[1]["node"];
    assert_eq!(role_change["actor"]["email"], "owner@example.com");
    assert_eq!(role_change["targetId"], bob.user_id.as_str());
    assert_eq!(
        role_change["metadata"],
        json!({"from": "member", "to": "viewer"})
    );
    assert_eq!(role_change["clientAddress"], "127.0.0.1");
    assert_eq!(entries[2]["node"]["actor"]["email"], "bob@example.com");

    let filtered = app
        .data(
            Some(&owner.token),
            AUDIT,
            json!({"o": org, "a": "org.created"}),
        )
        .await;
    assert_eq!(filtered["auditLog"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.code(Some(&bob.token), AUDIT, json!({"o": org})).await,
        "FORBIDDEN"
    );
}

async fn audit_entries_stream_live(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let query = "subscription($o: ID!) { auditLogAdded(orgId: $o) { action actor { email } } }";

    let mut live = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();
    live.subscribe("1", query, json!({"o": org})).await;
    // The protocol does not acknowledge `subscribe`: keep making changes until the first
    // one is streamed.
    let mut message = None;
    for attempt in 0..20 {
        app.create_project(&owner.token, &org, &format!("Live {attempt}"))
            .await;
        if let Some(next) = live.next_message_within(Duration::from_millis(500)).await {
            message = next;
            break;
        }
    }
    let message = message.expect("an audit entry was streamed");
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(
        message["payload"]["data"]["auditLogAdded"],
        json!({"action": "project.created", "actor": {"email": "owner@example.com"}})
    );

    // Checked like a query: strangers and the anonymous get errors, bad tokens no connection.
    let stranger = app.signup("stranger@example.com").await;
    let mut theirs = ws::connect(app.url(), json!({"token": stranger.token}))
        .await
        .unwrap();
    theirs.subscribe("1", query, json!({"o": org})).await;
    let refused = theirs.next_message().await.unwrap();
    assert_eq!(ws::error_code(&refused), Some("NOT_FOUND"), "{refused}");
    let mut anonymous = ws::connect(app.url(), json!({})).await.unwrap();
    anonymous.subscribe("1", query, json!({"o": org})).await;
    let refused = anonymous.next_message().await.unwrap();
    assert_eq!(
        ws::error_code(&refused),
        Some("UNAUTHENTICATED"),
        "{refused}"
    );
    assert!(
        ws::connect(app.url(), json!({"token": "forged"}))
            .await
            .is_err()
    );
}

async fn forwarded_addresses_are_trusted_only_when_configured(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let response = app
        .http
        .post(format!("{}/graphql", app.url()))
        .bearer_auth(&owner.token)
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
        .json(&json!({"query": "mutation { createOrganization(input: {name: \"Acme\", slug: \"acme\"}) { id } }"}))
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = response.json().await.unwrap();
    let org = created["data"]["createOrganization"]["id"].clone();
    let log = app.data(Some(&owner.token), AUDIT, json!({"o": org})).await;
    assert_eq!(
        log["auditLog"]["edges"][0]["node"]["clientAddress"],
        "203.0.113.7"
    );
}
