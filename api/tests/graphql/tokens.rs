//! API tokens: shown once, usable as bearer tokens within their organization and scopes.

use keynet_testkit::{Account, TestApp};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret token { id prefix scopes expiresAt lastUsedAt } } }";
const LIST: &str = "query($o: ID!) { apiTokens(orgId: $o) { edges { node { name prefix lastUsedAt revokedAt } } } }";

on_both_backends!(
    api_tokens_work_within_their_scopes,
    api_token_input_is_checked
);

async fn create(app: &TestApp, user: &Account, org: &str, scopes: Value) -> Value {
    app.data(
        Some(&user.token),
        CREATE,
        json!({"i": {"name": "ci", "orgId": org, "scopes": scopes}}),
    )
    .await["createApiToken"]
        .clone()
}

async fn api_tokens_work_within_their_scopes(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let other_org = app.create_org(&owner, "other").await;

    let read = create(app, &owner, &org, json!(["READ"])).await;
    let secret = read["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("knt_") && secret.starts_with(read["token"]["prefix"].as_str().unwrap())
    );
    let listed = app.data(Some(&owner.token), LIST, json!({"o": org})).await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never shown again"
    );

    let projects = "query($o: ID!) { projects(orgId: $o) { edges { node { id } } } }";
    app.data(Some(&secret), projects, json!({"o": org})).await;
    let create_project = "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }";
    let project = json!({"i": {"orgId": org, "title": "P", "taskType": "DETECTION"}});
    assert_eq!(
        app.code(Some(&secret), create_project, project.clone())
            .await,
        "FORBIDDEN",
        "READ scope"
    );
    assert_eq!(
        app.code(Some(&secret), projects, json!({"o": other_org}))
            .await,
        "NOT_FOUND",
        "bound to its org"
    );
    assert_eq!(
        app.code(
            Some(&secret),
            CREATE,
            json!({"i": {"name": "x", "orgId": org, "scopes": ["READ"]}})
        )
        .await,
        "FORBIDDEN",
        "a token cannot mint tokens"
    );
    let mine = app
        .data(
            Some(&secret),
            "{ myOrganizations { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["myOrganizations"]["edges"].as_array().unwrap().len(),
        1
    );

    let write = create(app, &owner, &org, json!(["WRITE"])).await;
    let write_secret = write["secret"].as_str().unwrap();
    app.data(Some(write_secret), create_project, project.clone())
        .await;
    let used = app.data(Some(&owner.token), LIST, json!({"o": org})).await;
    assert!(
        used["apiTokens"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| !e["node"]["lastUsedAt"].is_null())
    );

    let revoke = "mutation($t: ID!) { revokeApiToken(tokenId: $t) { revokedAt } }";
    app.data(
        Some(&owner.token),
        revoke,
        json!({"t": write["token"]["id"]}),
    )
    .await;
    let (code, error) = app.error(Some(write_secret), create_project, project).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(error["message"].as_str().unwrap().contains("revoked"));
}

async fn api_token_input_is_checked(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let viewer = app.join(&owner, &org, "viewer@example.com", "VIEWER").await;

    let input = |scopes: Value, expires: Value| json!({"i": {"name": "ci", "orgId": org, "scopes": scopes, "expiresAt": expires}});
    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(800)).to_rfc3339();
    let member = app.join(&owner, &org, "member@example.com", "MEMBER").await;
    // A scope above one's role is a refusal of the role, as the error table says.
    for (who, scopes) in [
        (&viewer, json!(["WRITE"])),
        (&viewer, json!(["READ", "TRAINER_PUSH"])),
        (&member, json!(["ADMIN"])),
    ] {
        let (code, error) = app
            .error(Some(&who.token), CREATE, input(scopes.clone(), Value::Null))
            .await;
        assert_eq!(code, "FORBIDDEN", "{scopes}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains("role"),
            "{error}"
        );
    }
    create(app, &member, &org, json!(["WRITE", "TRAINER_PUSH"])).await;
    for (who, vars, field) in [
        (&owner, input(json!([]), Value::Null), "scopes"),
        (&owner, input(json!(["READ"]), json!(past)), "expiresAt"),
        (&owner, input(json!(["READ"]), json!(far)), "expiresAt"),
    ] {
        let (code, error) = app.error(Some(&who.token), CREATE, vars).await;
        assert_eq!(
            (code.as_str(), &error["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!(field))
        );
    }
    let (code, error) = app
        .error(
            Some(&owner.token),
            CREATE,
            input(json!(["EVERYTHING"]), Value::Null),
        )
        .await;
    assert_eq!(
        code, "GRAPHQL_VALIDATION_FAILED",
        "unknown scopes are refused by the schema"
    );
    assert!(
        error["message"].as_str().unwrap().contains("EVERYTHING"),
        "{error}"
    );
    // A viewer may hold a read token; the owner sees it, the viewer sees only their own.
    create(app, &viewer, &org, json!(["READ"])).await;
    create(app, &owner, &org, json!(["ADMIN"])).await;
    let count = |data: Value| data["apiTokens"]["edges"].as_array().unwrap().len();
    assert_eq!(
        count(app.data(Some(&owner.token), LIST, json!({"o": org})).await),
        3
    );
    assert_eq!(
        count(app.data(Some(&viewer.token), LIST, json!({"o": org})).await),
        1
    );
}
