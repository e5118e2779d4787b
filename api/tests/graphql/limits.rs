//! What is refused before or around GraphQL: oversized, malformed, too deep, too complex and
//! alias-heavy requests; and what every response carries (request id, metrics, health).

use keynet_testkit::TestApp;
use keynet_testkit::trainer::{TRAINER, install_program};
use serde_json::{Value, json};

on_both_backends!(
    oversized_and_malformed_requests,
    query_limits,
    observability,
    lists_do_not_query_per_row
);

async fn raw_post(app: &TestApp, body: impl Into<String>) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/graphql", app.url()))
        .header("content-type", "application/json")
        .body(body.into())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn oversized_and_malformed_requests(app: &TestApp) {
    let huge = json!({"query": format!("{{ me {{ id }} }} #{}", "x".repeat(1 << 20))}).to_string();
    let (status, body) = raw_post(app, huge).await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (413, &json!("PAYLOAD_TOO_LARGE"))
    );
    let (status, body) = raw_post(app, "{not json").await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (400, &json!("BAD_REQUEST"))
    );
    let (status, body) = raw_post(app, r#"{"variables": {}}"#).await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (400, &json!("BAD_REQUEST")),
        "no query"
    );
    let (status, body) = raw_post(app, r#"{"query": "{ me { id "}"#).await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (200, &json!("GRAPHQL_VALIDATION_FAILED"))
    );
    let (_, body) = raw_post(app, r#"{"query": "{ nonsense }"}"#).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let missing = app.get("/nowhere").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}

async fn query_limits(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let token = Some(owner.token.as_str());

    // As deep as the deepest path of GraphiQL's introspection query (graphql-js 16: a
    // type reference unwraps `ofType` nine times), which must pass for its docs and
    // completion to work; one level more is refused.
    let nested = |levels: usize| {
        format!(
            "{{ __schema {{ types {{ fields {{ args {{ type {{ {}name{} }} }} }} }} }} }}",
            "ofType { ".repeat(levels),
            " }".repeat(levels)
        )
    };
    app.data(None, &nested(9), json!({})).await;
    let (code, error) = app.error(token, &nested(10), json!({})).await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{error}"
    );

    let aliases: String = (0..16).map(|n| format!("a{n}: me {{ id }} ")).collect();
    let (code, error) = app
        .error(token, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
    assert!(
        error["message"].as_str().unwrap().contains("aliases"),
        "{error}"
    );
    let fifteen: String = (0..15).map(|n| format!("a{n}: me {{ id }} ")).collect();
    app.data(token, &format!("{{ {fifteen} }}"), json!({}))
        .await;

    let complex = "{ myOrganizations(first: 100) { edges { node { members(first: 100) { edges { node { role user { id email displayName } } } } } } } }";
    let (code, error) = app.error(token, complex, json!({})).await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
    assert!(
        error["message"].as_str().unwrap().contains("complex"),
        "{error}"
    );
}

async fn observability(app: &TestApp) {
    let response = app
        .http
        .post(format!("{}/graphql", app.url()))
        .header("x-request-id", "trace-me-42")
        .json(&json!({"query": "query WhoAmI { me { id } }", "operationName": "WhoAmI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "trace-me-42");
    let generated = app.get("/healthz").await;
    assert!(!generated.headers()["x-request-id"].is_empty());

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 200);
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics
            .contains(r#"keynet_graphql_operations_total{operation="WhoAmI",outcome="error"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"keynet_http_requests_total{method="POST",route="/graphql",status="200"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("keynet_graphql_operation_duration_seconds_bucket"));
    let page = app.get_text("/graphql").await;
    assert!(page.contains("graphiql"), "GraphiQL is served on GET");
}

/// The members of an organization, with their users, cost the same number of statements
/// whether there are 2 or 6 of them; so do audit entries with their actors, and listed
/// trainers with their rating, public slug, featured version and versions, for 1 or 5.
async fn lists_do_not_query_per_row(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let small = app.create_org(&owner, "small").await;
    let large = app.create_org(&owner, "large").await;
    for (org, count) in [(&small, 1), (&large, 5)] {
        for n in 0..count {
            let email = format!("m{n}@{org}.example.com");
            app.join(&owner, org, &email, "MEMBER").await;
        }
    }
    let members = "query($s: String!) { organization(slug: $s) { members(first: 20) { edges { node { role user { email } } } } } }";
    let audit =
        "query($o: ID!) { auditLog(orgId: $o) { edges { node { action actor { email } } } } }";
    let mut costs = Vec::new();
    for (slug, id) in [("small", &small), ("large", &large)] {
        let mark = app.statement_mark();
        app.data(Some(&owner.token), members, json!({"s": slug}))
            .await;
        let members_cost = app.statements_since(mark).len();
        let mark = app.statement_mark();
        app.data(Some(&owner.token), audit, json!({"o": id})).await;
        costs.push((members_cost, app.statements_since(mark).len()));
    }
    assert_eq!(
        costs[0], costs[1],
        "statements per request must not grow with rows: {costs:?}"
    );

    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let shopper = app.signup("shopper@example.com").await;
    let mut listing_costs = Vec::new();
    for names in [&["Solo"][..], &["Duo", "Trio", "Quartet", "Quintet"][..]] {
        for name in names {
            publish(app, &owner.token, &small, name, &image).await;
        }
        for viewer in [&owner, &shopper] {
            let mark = app.statement_mark();
            let listed = app.data(Some(&viewer.token), MARKETPLACE, json!({})).await;
            let nodes = listed["marketplaceTrainers"]["edges"].as_array().unwrap();
            assert!(
                nodes
                    .iter()
                    .all(|n| n["node"]["versions"][0]["id"].is_string())
            );
            listing_costs.push((nodes.len(), app.statements_since(mark).len()));
        }
    }
    let counts: Vec<_> = listing_costs.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, [1, 1, 5, 5], "{listing_costs:?}");
    assert_eq!(
        (listing_costs[0].1, listing_costs[1].1),
        (listing_costs[2].1, listing_costs[3].1),
        "statements per listing must not grow with trainers: {listing_costs:?}"
    );
}

const MARKETPLACE: &str = "{ marketplaceTrainers(sort: NEWEST, first: 20) { edges { node {
    name rating { average count } marketplaceSlug publishedVersion { id } versions { id } } } } }";

/// Registers `name` as a READY trainer of `org` and lists it on the marketplace.
async fn publish(app: &TestApp, token: &str, org: &str, name: &str, image: &str) {
    let version = app.register_trainer(token, org, name, image).await;
    let trainer = app
        .data(
            Some(token),
            "query($v: ID!) { trainerVersion(id: $v) { trainerId } }",
            json!({"v": version}),
        )
        .await["trainerVersion"]["trainerId"]
        .clone();
    app.data(
        Some(token),
        "mutation($t: ID!, $v: ID!) { publishTrainer(trainerId: $t, versionId: $v) { published } }",
        json!({"t": trainer, "v": version}),
    )
    .await;
}
