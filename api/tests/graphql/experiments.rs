//! Experiments: tags, search, personal stars, notes and their authors.

use keynet_testkit::TestApp;
use serde_json::{Value, json};

const CREATE: &str =
    "mutation($i: CreateExperimentInput!) { createExperiment(input: $i) { id name tags starred } }";
const LIST: &str = "query($p: ID!, $s: String, $t: String, $st: Boolean, $all: Boolean! = false) { experiments(projectId: $p, search: $s, tag: $t, starred: $st, includeArchived: $all) { edges { node { name starred notes { body author { email } } } } } }";

on_both_backends!(experiments_lifecycle, notes_belong_to_their_authors);

fn names(data: &Value) -> Vec<&str> {
    data["experiments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect()
}

async fn experiments_lifecycle(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let colleague = app
        .join(&owner, &org, "colleague@example.com", "MEMBER")
        .await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let create = |name: &str, description: &str, tags: Value| json!({"i": {"projectId": project, "name": name, "description": description, "tags": tags}});
    let baseline = app
        .data(
            Some(&owner.token),
            CREATE,
            create("Baseline", "small lr", json!(["resnet", "lr:0.01"])),
        )
        .await;
    assert_eq!(
        baseline["createExperiment"]["tags"],
        json!(["resnet", "lr:0.01"])
    );
    let baseline_id = baseline["createExperiment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.data(
        Some(&owner.token),
        CREATE,
        create("Bigger model", "100% more layers", json!(["vit"])),
    )
    .await;

    let (code, error) = app
        .error(
            Some(&owner.token),
            CREATE,
            create("Bad", "", json!(["no\"quotes"])),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("tags"))
    );

    let list = |vars: Value| app.data(Some(owner.token.as_str()), LIST, vars);
    assert_eq!(
        names(&list(json!({"p": project, "s": "BIGGER"})).await),
        ["Bigger model"]
    );
    assert_eq!(
        names(&list(json!({"p": project, "s": "100%"})).await),
        ["Bigger model"],
        "wildcards match themselves"
    );
    assert_eq!(
        names(&list(json!({"p": project, "s": "lr"})).await),
        ["Baseline"],
        "description matches"
    );
    assert_eq!(
        names(&list(json!({"p": project, "t": "vit"})).await),
        ["Bigger model"]
    );
    assert_eq!(
        names(&list(json!({"p": project, "t": "res"})).await),
        Vec::<&str>::new(),
        "tags match exactly"
    );

    let star = "mutation($id: ID!) { starExperiment(id: $id) { starred } }";
    assert_eq!(
        app.data(Some(&owner.token), star, json!({"id": baseline_id}))
            .await["starExperiment"]["starred"],
        true
    );
    app.data(Some(&owner.token), star, json!({"id": baseline_id}))
        .await;
    assert_eq!(
        names(&list(json!({"p": project, "st": true})).await),
        ["Baseline"]
    );
    assert_eq!(
        names(&list(json!({"p": project, "st": false})).await),
        ["Bigger model"]
    );
    let theirs = app
        .data(
            Some(&colleague.token),
            LIST,
            json!({"p": project, "st": true}),
        )
        .await;
    assert!(names(&theirs).is_empty(), "stars are personal");
    let unstar = "mutation($id: ID!) { unstarExperiment(id: $id) { starred } }";
    assert_eq!(
        app.data(Some(&owner.token), unstar, json!({"id": baseline_id}))
            .await["unstarExperiment"]["starred"],
        false
    );

    let update =
        "mutation($i: UpdateExperimentInput!) { updateExperiment(input: $i) { name tags } }";
    let updated = app
        .data(
            Some(&colleague.token),
            update,
            json!({"i": {"id": baseline_id, "name": "Baseline v2", "tags": ["resnet"]}}),
        )
        .await;
    assert_eq!(
        updated["updateExperiment"],
        json!({"name": "Baseline v2", "tags": ["resnet"]})
    );
    let archive = "mutation($id: ID!) { archiveExperiment(id: $id) { archived } }";
    app.data(Some(&owner.token), archive, json!({"id": baseline_id}))
        .await;
    assert_eq!(names(&list(json!({"p": project})).await), ["Bigger model"]);
    assert_eq!(
        names(&list(json!({"p": project, "all": true})).await),
        ["Baseline v2", "Bigger model"]
    );
}

async fn notes_belong_to_their_authors(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let colleague = app
        .join(&owner, &org, "colleague@example.com", "MEMBER")
        .await;
    let viewer = app.join(&owner, &org, "viewer@example.com", "VIEWER").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let mut experiments = Vec::new();
    for name in ["A", "B", "C"] {
        let made = app
            .data(
                Some(&owner.token),
                CREATE,
                json!({"i": {"projectId": project, "name": name}}),
            )
            .await;
        experiments.push(made["createExperiment"]["id"].as_str().unwrap().to_string());
    }
    let add = "mutation($e: ID!, $b: String!) { addExperimentNote(experimentId: $e, body: $b) { id body author { email } } }";
    let note = app
        .data(
            Some(&owner.token),
            add,
            json!({"e": experiments[0], "b": "**loss** plateaus"}),
        )
        .await;
    let note_id = note["addExperimentNote"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for experiment in &experiments {
        app.data(
            Some(&colleague.token),
            add,
            json!({"e": experiment, "b": "looks good"}),
        )
        .await;
    }
    let (code, error) = app
        .error(
            Some(&owner.token),
            add,
            json!({"e": experiments[0], "b": "  "}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("body"))
    );
    assert_eq!(
        app.code(
            Some(&viewer.token),
            add,
            json!({"e": experiments[0], "b": "hi"})
        )
        .await,
        "FORBIDDEN"
    );

    let edit =
        "mutation($n: ID!, $b: String!) { editExperimentNote(noteId: $n, body: $b) { body } }";
    assert_eq!(
        app.code(
            Some(&colleague.token),
            edit,
            json!({"n": note_id, "b": "mine now"})
        )
        .await,
        "FORBIDDEN"
    );
    app.data(
        Some(&owner.token),
        edit,
        json!({"n": note_id, "b": "loss plateaus at epoch 12"}),
    )
    .await;

    // Notes of a whole list come with one query, not one per experiment.
    let mark = app.statement_mark();
    let listed = app
        .data(Some(&viewer.token), LIST, json!({"p": project}))
        .await;
    let statements = app.statements_since(mark).len();
    let first = &listed["experiments"]["edges"][0]["node"]["notes"];
    assert_eq!(
        first,
        &json!([{"body": "loss plateaus at epoch 12", "author": {"email": "owner@example.com"}}, {"body": "looks good", "author": {"email": "colleague@example.com"}}])
    );
    assert!(
        statements <= 6,
        "{statements} statements for a list of 3 experiments with notes"
    );

    let delete = "mutation($n: ID!) { deleteExperimentNote(noteId: $n) }";
    assert_eq!(
        app.code(Some(&colleague.token), delete, json!({"n": note_id}))
            .await,
        "FORBIDDEN"
    );
    app.data(Some(&owner.token), delete, json!({"n": note_id}))
        .await;
    assert_eq!(
        app.code(Some(&owner.token), delete, json!({"n": note_id}))
            .await,
        "NOT_FOUND"
    );
}
