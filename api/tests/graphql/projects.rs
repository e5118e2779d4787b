//! Projects, and the list the trainer CLI offers to push into.

use keynet_testkit::TestApp;
use serde_json::json;

on_both_backends!(projects_lifecycle);

async fn projects_lifecycle(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let other = app.create_org(&owner, "other").await;
    let viewer = app.join(&owner, &org, "viewer@example.com", "VIEWER").await;

    let create = "mutation($i: CreateProjectInput!) { createProject(input: $i) { id title summary taskType archived } }";
    let made = app
        .data(Some(&owner.token), create, json!({"i": {"orgId": org, "title": " Defects ", "summary": "PCB defects", "taskType": "DETECTION"}}))
        .await;
    assert_eq!(made["createProject"]["title"], "Defects");
    assert_eq!(made["createProject"]["taskType"], "DETECTION");
    let id = made["createProject"]["id"].as_str().unwrap().to_string();
    let (code, error) = app
        .error(
            Some(&owner.token),
            create,
            json!({"i": {"orgId": org, "title": "", "taskType": "POSE"}}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("title"))
    );
    let (code, _) = app
        .error(
            Some(&owner.token),
            create,
            json!({"i": {"orgId": org, "title": "x", "taskType": "SORTING"}}),
        )
        .await;
    assert_eq!(
        code, "GRAPHQL_VALIDATION_FAILED",
        "unknown enum values are refused by the schema"
    );
    assert_eq!(
        app.code(
            Some(&viewer.token),
            create,
            json!({"i": {"orgId": org, "title": "V", "taskType": "POSE"}})
        )
        .await,
        "FORBIDDEN"
    );
    app.create_project(&owner.token, &other, "Elsewhere").await;

    let update = "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { title summary } }";
    let updated = app
        .data(
            Some(&owner.token),
            update,
            json!({"i": {"id": id, "summary": "Solder defects"}}),
        )
        .await;
    assert_eq!(
        updated["updateProject"],
        json!({"title": "Defects", "summary": "Solder defects"})
    );
    let one = "query($id: ID!) { project(id: $id) { title } }";
    assert_eq!(
        app.data(Some(&viewer.token), one, json!({"id": id})).await["project"]["title"],
        "Defects"
    );

    let trainable = "{ trainableProjects { edges { node { title } } } }";
    let titles = |data: serde_json::Value| -> Vec<String> {
        data["trainableProjects"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        titles(app.data(Some(&owner.token), trainable, json!({})).await),
        ["Defects", "Elsewhere"]
    );
    assert!(
        titles(app.data(Some(&viewer.token), trainable, json!({})).await).is_empty(),
        "viewers cannot push"
    );

    let archive = "mutation($id: ID!) { archiveProject(id: $id) { archived } }";
    assert_eq!(
        app.code(Some(&viewer.token), archive, json!({"id": id}))
            .await,
        "FORBIDDEN"
    );
    app.data(Some(&owner.token), archive, json!({"id": id}))
        .await;
    let list = "query($o: ID!, $all: Boolean!) { projects(orgId: $o, includeArchived: $all) { edges { node { title archived } } } }";
    assert!(
        app.data(Some(&owner.token), list, json!({"o": org, "all": false}))
            .await["projects"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.data(Some(&owner.token), list, json!({"o": org, "all": true}))
            .await["projects"]["edges"][0]["node"]["archived"],
        true
    );
    assert_eq!(
        titles(app.data(Some(&owner.token), trainable, json!({})).await),
        ["Elsewhere"]
    );
}
