//! The embedded default under concurrent writes: SQLite takes one writer at a time, and
//! Keynet queues its writers rather than failing them. Hundreds of writing requests of
//! several kinds at once end with no error, and every write is there afterwards.

use futures_util::future::join_all;
use keynet_testkit::gql::PASSWORD;
use keynet_testkit::{Backend, TestApp};
use serde_json::{Value, json};

const USERS: usize = 34;
const PROJECTS_PER_USER: usize = 4;
const TOKENS_PER_USER: usize = 2;

/// Sends every request at once; each must answer without errors. Returns the data.
async fn all_at_once(app: &TestApp, requests: Vec<(Option<String>, &str, Value)>) -> Vec<Value> {
    let responses = join_all(
        requests
            .iter()
            .map(|(token, query, variables)| app.post(token.as_deref(), query, variables.clone())),
    )
    .await;
    let failed: Vec<&Value> = responses
        .iter()
        .filter(|response| response.get("errors").is_some())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, e.g. {}",
        failed.len(),
        responses.len(),
        failed[0]
    );
    responses.into_iter().map(|r| r["data"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_on_sqlite_are_queued_not_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let signups = (0..USERS)
        .map(|i| {
            (
                None,
                "mutation($i: SignupInput!) { signup(input: $i) { accessToken refreshToken } }",
                json!({"i": {"email": format!("user{i}@example.com"), "password": PASSWORD, "displayName": format!("User {i}")}}),
            )
        })
        .collect();
    let sessions = all_at_once(&app, signups).await;
    let tokens: Vec<String> = sessions
        .iter()
        .map(|s| s["signup"]["accessToken"].as_str().unwrap().to_string())
        .collect();

    let orgs = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            (
                Some(token.clone()),
                "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }",
                json!({"i": {"name": format!("Org {i}"), "slug": format!("org-{i}")}}),
            )
        })
        .collect();
    let orgs: Vec<String> = all_at_once(&app, orgs)
        .await
        .iter()
        .map(|o| o["createOrganization"]["id"].as_str().unwrap().to_string())
        .collect();

    // Five kinds of writes, all at once: sign-ins, session refreshes, projects, API tokens
    // and profile updates.
    let mut writes = Vec::new();
    for (i, (token, org)) in tokens.iter().zip(&orgs).enumerate() {
        writes.push((
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({"i": {"email": format!("user{i}@example.com"), "password": PASSWORD}}),
        ));
        writes.push((
            None,
            "mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }",
            json!({"r": sessions[i]["signup"]["refreshToken"]}),
        ));
        for p in 0..PROJECTS_PER_USER {
            writes.push((
                Some(token.clone()),
                "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
                json!({"i": {"orgId": org, "title": format!("Project {p}"), "taskType": "CLASSIFICATION"}}),
            ));
        }
        for t in 0..TOKENS_PER_USER {
            writes.push((
                Some(token.clone()),
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }",
                json!({"i": {"orgId": org, "name": format!("ci-{t}"), "scopes": ["READ"]}}),
            ));
        }
        writes.push((
            Some(token.clone()),
            "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { id } }",
            json!({"i": {"orgId": org, "name": format!("Renamed {i}")}}),
        ));
    }
    assert!(writes.len() >= 300, "{} writes", writes.len());
    all_at_once(&app, writes).await;

    // Nothing was lost.
    for (token, org) in tokens.iter().zip(&orgs) {
        let data = app
            .data(
                Some(token),
                "query($o: ID!) {
                    projects(orgId: $o, first: 50) { edges { node { id } } }
                    apiTokens(orgId: $o, first: 50) { edges { node { id } } }
                }",
                json!({"o": org}),
            )
            .await;
        assert_eq!(
            data["projects"]["edges"].as_array().unwrap().len(),
            PROJECTS_PER_USER
        );
        assert_eq!(
            data["apiTokens"]["edges"].as_array().unwrap().len(),
            TOKENS_PER_USER
        );
    }
    app.stop().await;
}
