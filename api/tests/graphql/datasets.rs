//! Datasets: creation, lists, changes, removal and what they refuse.

use keynet_testkit::TestApp;
use serde_json::json;

const CREATE: &str = "mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id name taskTypes importStatus splitConfig { train val test seed } } }";
const UPDATE: &str = "mutation($i: UpdateDatasetInput!) { updateDataset(input: $i) { name splitConfig { train val test seed } } }";
const LIST: &str = "query($p: ID!, $t: TaskType) { datasets(projectId: $p, taskType: $t) { edges { node { name } } } }";

on_both_backends!(datasets_lifecycle);

async fn datasets_lifecycle(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let member = app.join(&owner, &org, "member@example.com", "MEMBER").await;
    let viewer = app.join(&owner, &org, "viewer@example.com", "VIEWER").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;

    let created = app
        .data(
            Some(&member.token),
            CREATE,
            json!({"i": {"projectId": project, "name": "Photos"}}),
        )
        .await["createDataset"]
        .clone();
    assert_eq!(
        created["taskTypes"],
        json!(["CLASSIFICATION"]),
        "the project's task type"
    );
    assert_eq!(created["importStatus"], "EMPTY");
    assert_eq!(
        created["splitConfig"],
        json!({"train": 0.8, "val": 0.1, "test": 0.1, "seed": 42})
    );
    let id = created["id"].as_str().unwrap().to_string();
    app.data(
        Some(&member.token),
        CREATE,
        json!({"i": {"projectId": project, "name": "Boxes", "taskTypes": ["DETECTION", "SEGMENTATION", "DETECTION"]}}),
    )
    .await;

    let names = |data: serde_json::Value| -> Vec<String> {
        data["datasets"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(
            app.data(Some(&viewer.token), LIST, json!({"p": project}))
                .await
        ),
        ["Photos", "Boxes"]
    );
    assert_eq!(
        names(
            app.data(
                Some(&viewer.token),
                LIST,
                json!({"p": project, "t": "SEGMENTATION"})
            )
            .await
        ),
        ["Boxes"]
    );
    assert_eq!(
        names(
            app.data(
                Some(&viewer.token),
                LIST,
                json!({"p": project, "t": "POSE"})
            )
            .await
        ),
        Vec::<String>::new()
    );

    for (input, code, field) in [
        (
            json!({"projectId": project, "name": "Photos"}),
            "CONFLICT",
            None,
        ),
        (
            json!({"projectId": project, "name": " "}),
            "BAD_USER_INPUT",
            Some("name"),
        ),
        (
            json!({"projectId": "nope", "name": "x"}),
            "BAD_USER_INPUT",
            Some("projectId"),
        ),
    ] {
        let (got, error) = app
            .error(Some(&member.token), CREATE, json!({"i": input}))
            .await;
        assert_eq!(got, code, "{error}");
        if let Some(field) = field {
            assert_eq!(error["extensions"]["field"], field);
        }
    }
    assert_eq!(
        app.code(
            Some(&viewer.token),
            CREATE,
            json!({"i": {"projectId": project, "name": "V"}})
        )
        .await,
        "FORBIDDEN"
    );

    let split = json!({"train": 0.7, "val": 0.2, "test": 0.1, "seed": 7});
    let updated = app
        .data(
            Some(&member.token),
            UPDATE,
            json!({"i": {"id": id, "name": "Photos v2", "splitConfig": split}}),
        )
        .await;
    assert_eq!(
        updated["updateDataset"],
        json!({"name": "Photos v2", "splitConfig": split})
    );
    let bad_split =
        json!({"i": {"id": id, "splitConfig": {"train": 0.9, "val": 0.2, "test": 0.1, "seed": 1}}});
    let (code, error) = app.error(Some(&member.token), UPDATE, bad_split).await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("splitConfig"))
    );

    let delete = "mutation($id: ID!) { deleteDataset(id: $id) }";
    assert_eq!(
        app.code(Some(&member.token), delete, json!({"id": id}))
            .await,
        "FORBIDDEN",
        "admins delete"
    );
    app.data(Some(&owner.token), delete, json!({"id": id}))
        .await;
    let one = "query($id: ID!) { dataset(id: $id) { name } }";
    assert_eq!(
        app.code(Some(&owner.token), one, json!({"id": id})).await,
        "NOT_FOUND"
    );

    let storage = "query { organization(slug: \"acme\") { storageBytes } }";
    assert_eq!(
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"],
        0
    );

    let archive = "mutation($id: ID!) { archiveProject(id: $id) { archived } }";
    app.data(Some(&owner.token), archive, json!({"id": project}))
        .await;
    assert_eq!(
        app.code(
            Some(&owner.token),
            CREATE,
            json!({"i": {"projectId": project, "name": "Late"}})
        )
        .await,
        "CONFLICT",
        "archived projects take no new datasets"
    );
}
