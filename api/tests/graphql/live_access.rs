//! Live access follows current permissions: a subscription stops delivering, with an error
//! and then `complete`, as soon as its viewer loses what it needs — the role lowered, the
//! organization deleted, the session signed out, the API token revoked, the access token
//! expired. (Removal from the organization is walked over every subscription in tenancy.rs.)

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use keynet_testkit::app::JWT_SECRET;
use keynet_testkit::ws::{self, Subscription};
use keynet_testkit::{Account, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    a_lowered_role_ends_the_subscription,
    a_deleted_organization_ends_the_subscription,
    signing_out_ends_the_subscription,
    a_revoked_api_token_ends_the_subscription,
    an_expired_access_token_ends_the_subscription,
);

const AUDIT: &str = "subscription($o: ID!) { auditLogAdded(orgId: $o) { action } }";
const RENAME: &str =
    "mutation($o: ID!, $n: String!) { updateOrganization(input: {orgId: $o, name: $n}) { id } }";

struct Org {
    owner: Account,
    admin: Account,
    id: String,
}

async fn org_with_admin(app: &TestApp) -> Org {
    let owner = app.signup("owner@example.com").await;
    let id = app.create_org(&owner, "acme").await;
    let admin = app.join(&owner, &id, "admin@example.com", "ADMIN").await;
    Org { owner, admin, id }
}

/// Subscribes to the org's audit log with `token` and shows it is live: a rename arrives.
async fn live_audit(app: &TestApp, org: &Org, token: &str) -> Subscription {
    let mut socket = ws::connect(app.url(), json!({"token": token}))
        .await
        .unwrap();
    socket.subscribe("audit", AUDIT, json!({"o": org.id})).await;
    // No acknowledgement of a subscribe in graphql-ws: rename until one arrives.
    for attempt in 0..50 {
        rename(app, org, &format!("Acme {attempt}")).await;
        if let Some(Some(message)) = socket.next_message_within(Duration::from_millis(200)).await {
            assert_eq!(
                message["payload"]["data"]["auditLogAdded"]["action"], "org.updated",
                "{message}"
            );
            return socket;
        }
    }
    panic!("the subscription never delivered");
}

async fn rename(app: &TestApp, org: &Org, name: &str) {
    app.data(
        Some(&org.owner.token),
        RENAME,
        json!({"o": org.id, "n": name}),
    )
    .await;
}

/// The subscription's next messages: any data already under way, then an error with one of
/// `codes`, then `complete`; nothing after.
async fn ends_with(socket: &mut Subscription, codes: &[&str]) {
    let code = loop {
        let message = socket.next_message().await.unwrap();
        if let Some(code) = ws::error_code(&message) {
            break code.to_string();
        }
        assert_eq!(message["type"], "next", "{message}");
    };
    assert!(codes.contains(&code.as_str()), "ended with {code}");
    let last = socket.next_message().await.unwrap();
    assert_eq!(last["type"], "complete", "{last}");
}

async fn a_lowered_role_ends_the_subscription(app: &TestApp) {
    let org = org_with_admin(app).await;
    let mut socket = live_audit(app, &org, &org.admin.token).await;
    app.data(
        Some(&org.owner.token),
        "mutation($o: ID!, $u: ID!) { changeMemberRole(orgId: $o, userId: $u, role: MEMBER) { role } }",
        json!({"o": org.id, "u": org.admin.user_id}),
    )
    .await;
    ends_with(&mut socket, &["FORBIDDEN"]).await;
    // A member may not read the audit log: a new subscription is refused too.
    socket.subscribe("again", AUDIT, json!({"o": org.id})).await;
    let refused = socket.next_message().await.unwrap();
    assert_eq!(ws::error_code(&refused), Some("FORBIDDEN"), "{refused}");
}

async fn a_deleted_organization_ends_the_subscription(app: &TestApp) {
    let org = org_with_admin(app).await;
    let mut socket = live_audit(app, &org, &org.admin.token).await;
    app.data(
        Some(&org.owner.token),
        "mutation($o: ID!) { deleteOrganization(orgId: $o) }",
        json!({"o": org.id}),
    )
    .await;
    ends_with(&mut socket, &["NOT_FOUND", "FORBIDDEN"]).await;
}

async fn signing_out_ends_the_subscription(app: &TestApp) {
    let org = org_with_admin(app).await;
    let mut socket = live_audit(app, &org, &org.admin.token).await;
    app.data(Some(&org.admin.token), "mutation { logout }", json!({}))
        .await;
    ends_with(&mut socket, &["UNAUTHENTICATED"]).await;
}

async fn a_revoked_api_token_ends_the_subscription(app: &TestApp) {
    let org = org_with_admin(app).await;
    let created = app
        .data(
            Some(&org.admin.token),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret token { id } } }",
            json!({"i": {"name": "dashboard", "orgId": org.id, "scopes": ["ADMIN"]}}),
        )
        .await["createApiToken"]
        .clone();
    let secret = created["secret"].as_str().unwrap();
    let mut socket = live_audit(app, &org, secret).await;
    app.data(
        Some(&org.admin.token),
        "mutation($t: ID!) { revokeApiToken(tokenId: $t) { id } }",
        json!({"t": created["token"]["id"]}),
    )
    .await;
    ends_with(&mut socket, &["UNAUTHENTICATED"]).await;
}

/// An access token of the admin's session that expires in a few seconds.
fn expiring_token(session_token: &str, user: &str, seconds: i64) -> String {
    use base64::Engine;
    let payload = session_token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    let now = Utc::now().timestamp();
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = jsonwebtoken::decode_header(session_token).unwrap().kid;
    jsonwebtoken::encode(
        &header,
        &json!({
            "sub": user, "sid": claims["sid"], "iss": claims["iss"], "aud": claims["aud"],
            "iat": now, "nbf": now, "exp": now + seconds,
        }),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn an_expired_access_token_ends_the_subscription(app: &TestApp) {
    let org = org_with_admin(app).await;
    let token = expiring_token(&org.admin.token, &org.admin.user_id, 4);
    let mut socket = live_audit(app, &org, &token).await;
    ends_with(&mut socket, &["UNAUTHENTICATED"]).await;
    // The connection's credential has expired: subscribing again is refused; a client
    // renews by connecting again with a fresh token.
    socket.subscribe("again", AUDIT, json!({"o": org.id})).await;
    let refused = socket.next_message().await.unwrap();
    assert_eq!(
        ws::error_code(&refused),
        Some("UNAUTHENTICATED"),
        "{refused}"
    );
    let mut renewed = live_audit(app, &org, &org.admin.token).await;
    rename(app, &org, "Acme renewed").await;
    let message = renewed.next_message().await.unwrap();
    assert_eq!(
        message["payload"]["data"]["auditLogAdded"]["action"],
        "org.updated"
    );
}
