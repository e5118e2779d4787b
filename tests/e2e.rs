//! End-to-end tests of the built `keynet` binary: it runs as a child process, configured the
//! way an operator configures it (environment variables and flags), and is driven over HTTP
//! only. PostgreSQL runs on this machine (127.0.0.1:5432, user postgres); the SMTP server is
//! a real one on loopback, started by the test.

mod support;

use keynet_testkit::Gql;
use keynet_testkit::mail::{SmtpCapture, wait_in_outbox};
use keynet_testkit::pg::TestDatabase;
use serde_json::{Value, json};
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use support::{Keynet, START_TIMEOUT, command as keynet};

const JWT_SECRET: &str = "e2e-only-secret-0123456789abcdef0123456789";
/// SIGTERM must stop the server gracefully and successfully, within a few seconds.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `keynet serve` that said where it listens and answers `/healthz`, with that
/// URL. Dropping it kills the process, so a failed assertion leaves nothing behind.
async fn serve(args: &[&str], env: &[(&str, String)], cwd: &Path) -> (Keynet, String) {
    let mut server = Keynet::start("keynet serve", args, env, cwd);
    let url = server.wait_listening().await;
    server.wait_healthy(&url).await;
    (server, url)
}

/// Runs `body` with the URL of a fresh PostgreSQL database, and drops the database
/// afterwards, also when `body` panicked (the panic is then passed on).
async fn with_database<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = TestDatabase::create().await;
    let outcome = tokio::spawn(body(database.url.clone())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("the test was cancelled: {error}");
    }
}

fn nodes(connection: &Value) -> &Vec<Value> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection:#}"))
}

#[tokio::test]
async fn the_whole_foundation_over_http_on_postgres() {
    with_database(full_flow).await;
}

async fn full_flow(database_url: String) {
    let smtp = SmtpCapture::start();
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let (server, url) = serve(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("KEYNET_DATABASE_URL", database_url),
            ("KEYNET_DATA_DIR", data_dir.path().display().to_string()),
            ("KEYNET_AUTH__JWT_SECRET", JWT_SECRET.to_string()),
            ("KEYNET_EMAIL__SMTP_URL", smtp.url()),
            ("KEYNET_WORKERS__POLL_INTERVAL_MS", "20".to_string()),
        ],
        data_dir.path(),
    )
    .await;
    let gql = Gql::new(url.clone());

    // The owner signs up and creates an organization.
    let owner = gql.signup("owner@example.com").await;
    let org_id = gql.create_org(&owner, "acme-e2e").await;

    // The owner invites a member; the invitation goes out by SMTP.
    let invitee_email = "invitee@example.com";
    gql.invite(&owner, &org_id, invitee_email, "MEMBER").await;
    let email = smtp.wait_for(invitee_email, "invited you").await;
    assert!(
        email
            .body
            .contains(&format!("{url}/invitations/accept?token=")),
        "the link points at this server: {:?}",
        email.body
    );
    let invitation_token = email.link_token("/invitations/accept");

    // The link shows what it offers without signing in.
    let preview = gql
        .data(
            None,
            "query($token: String!) { invitation(token: $token) { organization { name slug } email role } }",
            json!({"token": invitation_token}),
        )
        .await;
    assert_eq!(
        preview["invitation"],
        json!({"organization": {"name": "ACME-E2E", "slug": "acme-e2e"}, "email": invitee_email, "role": "MEMBER"})
    );

    // The invitee signs up through the invitation and is a member right away.
    let invitee = gql
        .signup_with(invitee_email, Some(&invitation_token))
        .await;
    let mine = gql
        .data(
            Some(&invitee.token),
            "{ myOrganizations { nodes { id viewerRole } } me { emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(
        nodes(&mine["myOrganizations"]),
        &vec![json!({"id": org_id, "viewerRole": "MEMBER"})]
    );
    assert_eq!(
        mine["me"]["emailVerified"], true,
        "the invitation proved the address"
    );

    // The owner makes the invitee an admin.
    let changed = gql
        .data(
            Some(&owner.token),
            "mutation($orgId: ID!, $userId: ID!) { changeMemberRole(orgId: $orgId, userId: $userId, role: ADMIN) { role user { id } } }",
            json!({"orgId": org_id, "userId": invitee.user_id}),
        )
        .await;
    assert_eq!(
        changed["changeMemberRole"],
        json!({"role": "ADMIN", "user": {"id": invitee.user_id}})
    );
    let members = gql
        .data(
            Some(&owner.token),
            "query($orgId: ID!) { members(orgId: $orgId) { nodes { role user { email } } } }",
            json!({"orgId": org_id}),
        )
        .await;
    let mut roles: Vec<(String, String)> = nodes(&members["members"])
        .iter()
        .map(|m| {
            (
                m["user"]["email"].as_str().unwrap_or_default().to_string(),
                m["role"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            (invitee_email.to_string(), "ADMIN".to_string()),
            ("owner@example.com".to_string(), "OWNER".to_string()),
        ]
    );

    // The new admin creates an API token for the CLI.
    let created = gql
        .data(
            Some(&invitee.token),
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { name scopes orgId prefix } } }",
            json!({"input": {"name": "ci", "orgId": org_id, "scopes": ["WRITE"], "expiresAt": null}}),
        )
        .await;
    let secret = created["createApiToken"]["secret"]
        .as_str()
        .expect("the secret is shown once")
        .to_string();
    assert!(secret.starts_with("knt_"), "{secret}");
    assert_eq!(
        created["createApiToken"]["token"]["scopes"],
        json!(["WRITE"])
    );
    assert_eq!(created["createApiToken"]["token"]["orgId"], json!(org_id));
    let prefix = created["createApiToken"]["token"]["prefix"]
        .as_str()
        .expect("a prefix");
    assert!(
        secret.starts_with(prefix),
        "the prefix {prefix} recognises {secret}"
    );

    // With the API token as Bearer, projects can be created and listed.
    let project_id = gql
        .create_project(&secret, &org_id, "Defect detection")
        .await;
    let projects = gql
        .data(
            Some(&secret),
            "query($orgId: ID!) { projects(orgId: $orgId) { nodes { id title taskType orgId } } }",
            json!({"orgId": org_id}),
        )
        .await;
    assert_eq!(
        nodes(&projects["projects"]),
        &vec![
            json!({"id": project_id, "title": "Defect detection", "taskType": "CLASSIFICATION", "orgId": org_id})
        ]
    );

    // The owner reads the audit log: every change, with who did it and from where.
    let audit = gql
        .data(
            Some(&owner.token),
            "query($orgId: ID!) { auditLog(orgId: $orgId, first: 100) { nodes { action actor { email } clientAddress targetType } } }",
            json!({"orgId": org_id}),
        )
        .await;
    let entries = nodes(&audit["auditLog"]);
    for (action, actor) in [
        ("org.created", "owner@example.com"),
        ("invitation.created", "owner@example.com"),
        ("invitation.accepted", invitee_email),
        ("member.role_changed", "owner@example.com"),
        ("api_token.created", invitee_email),
        ("project.created", invitee_email),
    ] {
        let entry = entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in the audit log: {entries:#?}"));
        assert_eq!(
            entry["actor"]["email"], actor,
            "actor of {action}: {entry:#}"
        );
        assert_eq!(
            entry["clientAddress"], "127.0.0.1",
            "client address of {action}: {entry:#}"
        );
    }
    let newest_first: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        newest_first.first(),
        Some(&"project.created"),
        "newest first: {newest_first:?}"
    );

    // Operations are counted; the database is reachable.
    let http = reqwest::Client::new();
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.expect("a text body");
    assert!(
        metrics.contains("keynet_graphql_operations_total"),
        "metrics:\n{metrics}"
    );
    let ready = http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200);

    // SIGTERM: a graceful stop with exit status 0. The clients go first, so no idle
    // keep-alive connection holds the shutdown up.
    drop((gql, http));
    server.stop_gracefully(SHUTDOWN_TIMEOUT).await;
}

#[tokio::test]
async fn no_configuration_runs_on_sqlite_with_an_outbox() {
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let dir = data_dir.path().display().to_string();
    let (server, url) = serve(
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", &dir],
        &[],
        data_dir.path(),
    )
    .await;
    let gql = Gql::new(url);

    let account = gql.signup("solo@example.com").await;
    let email = wait_in_outbox(
        &data_dir.path().join("outbox"),
        "solo@example.com",
        "Confirm your email",
    )
    .await;
    let token = email.link_token("/verify-email");
    let before = gql
        .data(Some(&account.token), "{ me { emailVerified } }", json!({}))
        .await;
    assert_eq!(before["me"]["emailVerified"], false);
    gql.data(
        None,
        "mutation($token: String!) { verifyEmail(token: $token) { emailVerified } }",
        json!({"token": token}),
    )
    .await;
    let after = gql
        .data(Some(&account.token), "{ me { emailVerified } }", json!({}))
        .await;
    assert_eq!(after["me"]["emailVerified"], true);

    assert!(
        data_dir.path().join("keynet.db").is_file(),
        "the SQLite database lives in the data folder"
    );
    drop(gql);
    server.stop_gracefully(SHUTDOWN_TIMEOUT).await;
}

#[tokio::test]
async fn a_bad_setting_is_refused_at_start_with_its_key() {
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let dir = data_dir.path().display().to_string();
    let mut command = keynet(
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", &dir],
        data_dir.path(),
    );
    command.env("KEYNET_API__MAX_DEPTH", "deep");
    let output = tokio::time::timeout(START_TIMEOUT, command.output())
        .await
        .expect("keynet gives up at once")
        .expect("keynet runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("api.max_depth"), "stderr: {stderr}");
    assert!(
        !data_dir.path().join("keynet.db").exists(),
        "nothing was created"
    );
}

#[tokio::test]
async fn every_subcommand_has_help() {
    let cwd = tempfile::tempdir().expect("a temporary folder");
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["schema", "--help"],
        &["worker", "--help"],
    ] {
        let output = keynet(args, cwd.path())
            .output()
            .await
            .expect("keynet runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "keynet {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("Usage:"), "keynet {args:?}: {stdout}");
    }
}
