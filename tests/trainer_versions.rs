//! Pushed trainer versions: an upload key pushes one image to one tag, once; the push
//! becomes a version pinned to its digest that goes through validation and the security
//! scan, with an itemised report; a plain push without the trainer labels is rejected by
//! validation, one with a private key by the scan's policy.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_testkit::registry::{Registry, check_line, error_code, image_config, tar_layer};
use keynet_testkit::{Backend, TestApp, ws};
use serde_json::{Value, json};
use std::time::Duration;

const LABELS: [(&str, &str); 3] = [
    ("ai.keynet.trainer.task-types", "classification"),
    ("ai.keynet.trainer.frameworks", "pytorch"),
    ("ai.keynet.trainer.export-formats", "onnx"),
];

/// What the tests read of a version once its checks have settled.
const VERSION_FIELDS: &str = "manifestDigest reference frameworks: framework
    hyperparameters { name }
    checks { name status message }
    scan { passed blocking packageCount sarif cyclonedx findings }";

/// The org's first trainer's versions, newest first.
async fn versions(app: &TestApp, token: &str, org_id: &str) -> Vec<Value> {
    app.data(
        Some(token),
        "query($o: ID!) { trainers(orgId: $o) { nodes { slug versions { id version status } } } }",
        json!({"o": org_id}),
    )
    .await["trainers"]["nodes"][0]["versions"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_key_pushes_one_version_that_is_validated_and_scanned() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let upload = app
        .data(
            Some(&owner.token),
            "mutation($input: RequestTrainerUploadInput!) { requestTrainerUpload(input: $input) {
                id uploadKey repository command version { status version }
            } }",
            json!({"input": {"projectId": project, "modelName": "Leaf Net", "hyperParameters": [
                {"name": "lr", "type": "FLOAT", "default": 0.01, "help": "learning rate"},
            ]}}),
        )
        .await["requestTrainerUpload"]
        .clone();
    let key = upload["uploadKey"].as_str().unwrap();
    let version_id = upload["id"].as_str().unwrap();
    assert!(key.starts_with("kup_"), "{key}");
    assert_eq!(upload["version"]["status"], "AWAITING_UPLOAD");
    let repository = upload["repository"].as_str().unwrap();
    assert!(repository.ends_with("/acme/leaf-net"), "{repository}");
    assert_eq!(
        upload["command"].as_str().unwrap(),
        format!("docker push {repository}:{key}")
    );

    // The key logs in with any user name, for its own repository only.
    let registry = Registry::new(app.url());
    let bearer = registry
        .bearer("upload", key, "acme/leaf-net", "push,pull")
        .await;
    let other = app.create_trainer(&owner.token, &org_id, "Other").await;
    let elsewhere: Value = registry
        .token(
            "upload",
            key,
            &[&format!("repository:acme/{other}:push,pull")],
        )
        .await
        .json()
        .await
        .unwrap();
    let token = elsewhere["token"].as_str().unwrap();
    let refused = registry
        .call(
            reqwest::Method::POST,
            token,
            &format!("/v2/acme/{other}/blobs/uploads/"),
        )
        .await;
    assert_eq!(error_code(refused).await, (403, "DENIED".into()));

    let layer = tar_layer(&[("train", b"#!/bin/sh\necho training\n", 0o755)]);
    let config = image_config(&LABELS, &[&layer]);
    // Another tag than the key's is refused, and stores no version.
    let wrong = registry
        .push_image(&bearer, "acme/leaf-net", "latest", &config, &[&layer])
        .await;
    assert_eq!(error_code(wrong).await, (403, "DENIED".into()));
    let pushed = registry
        .push_image(&bearer, "acme/leaf-net", key, &config, &[&layer])
        .await;
    assert_eq!(pushed.status(), 201);
    let digest = pushed.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    // Used up: the same key cannot push again, even with a token issued before.
    let again = registry
        .push_image(&bearer, "acme/leaf-net", key, &config, &[&layer])
        .await;
    assert_eq!(error_code(again).await, (403, "DENIED".into()));
    assert_eq!(registry.token("upload", key, &[]).await.status(), 401);

    let version = app
        .settled_version(&owner.token, version_id, VERSION_FIELDS)
        .await;
    assert_eq!(version["status"], "TEST_RUN", "{version}");
    assert_eq!(version["manifestDigest"], digest.as_str());
    assert!(
        version["reference"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(version["hyperparameters"][0]["name"], "lr");
    for name in [
        "manifest",
        "config",
        "platform",
        "entrypoint",
        "size",
        "labels",
        "hyperparameters",
        "scan.layers",
        "scan.secrets",
        "scan.policy",
    ] {
        assert_eq!(
            check_line(&version, name)["status"],
            "PASSED",
            "{name}: {version}"
        );
    }
    assert_eq!(version["scan"]["passed"], true);
    let sarif: Value = serde_json::from_str(version["scan"]["sarif"].as_str().unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let sbom: Value = serde_json::from_str(version["scan"]["cyclonedx"].as_str().unwrap()).unwrap();
    assert_eq!(sbom["specVersion"], "1.5");

    // The same reports as downloads; another organization's user finds nothing.
    let download = |report: &str, token: &str| {
        reqwest::Client::new()
            .get(format!(
                "{}/api/v1/trainer-versions/{version_id}/{report}",
                app.url()
            ))
            .bearer_auth(token)
            .send()
    };
    let file = download("sbom", &owner.token).await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["content-type"],
        "application/vnd.cyclonedx+json"
    );
    let file: Value = file.json().await.unwrap();
    assert_eq!(file["specVersion"], "1.5");
    let file = download("sarif", &owner.token).await.unwrap();
    assert_eq!(file.headers()["content-type"], "application/sarif+json");
    assert_eq!(file.json::<Value>().await.unwrap()["version"], "2.1.0");
    assert_eq!(download("pdf", &owner.token).await.unwrap().status(), 400);
    let stranger = app.signup("stranger@example.com").await;
    app.create_org(&stranger, "elsewhere").await;
    assert_eq!(
        download("sbom", &stranger.token).await.unwrap().status(),
        404
    );
    assert_eq!(download("sbom", "not-a-token").await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_pushes_are_versions_that_checks_can_reject() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let slug = app.create_trainer(&owner.token, &org_id, "Plain").await;
    let push = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    let registry = Registry::new(app.url());
    let repo = format!("acme/{slug}");
    let bearer = registry
        .bearer(&owner.email, &push, &repo, "push,pull")
        .await;
    // No labels: validation names what is missing.
    let layer = tar_layer(&[("train", b"#!/bin/sh\n", 0o755)]);
    let unlabelled = image_config(&[], &[&layer]);
    let pushed = registry
        .push_image(&bearer, &repo, "v1", &unlabelled, &[&layer])
        .await;
    assert_eq!(pushed.status(), 201);
    let listed = versions(&app, &owner.token, &org_id).await;
    assert_eq!(listed.len(), 1);
    let first = listed[0]["id"].as_str().unwrap().to_string();
    let version = app
        .settled_version(&owner.token, &first, VERSION_FIELDS)
        .await;
    assert_eq!(version["status"], "REJECTED");
    let labels = check_line(&version, "labels");
    assert_eq!(labels["status"], "FAILED");
    assert!(
        labels["message"]
            .as_str()
            .unwrap()
            .contains("ai.keynet.trainer.task-types is missing"),
        "{labels}"
    );
    // The same digest pushed to another tag is the same version.
    let retagged = registry
        .push_image(&bearer, &repo, "v1-again", &unlabelled, &[&layer])
        .await;
    assert_eq!(retagged.status(), 201);
    assert_eq!(versions(&app, &owner.token, &org_id).await.len(), 1);

    // A planted private key: validation passes, the scan's policy blocks and says why.
    let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDVZsgYw6FLfzCuA3LZCx7DDgKvsjhJfzAYNcd1NZJ6pAAAAJgRfKJJEXyi\n-----END OPENSSH PRIVATE KEY-----\n";
    let leaky = tar_layer(&[
        ("train", b"#!/bin/sh\n", 0o755),
        ("root/.ssh/id_ed25519", key, 0o600),
    ]);
    let config = image_config(&LABELS, &[&leaky]);
    let pushed = registry
        .push_image(&bearer, &repo, "v2", &config, &[&leaky])
        .await;
    assert_eq!(pushed.status(), 201);
    let listed = versions(&app, &owner.token, &org_id).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["version"], 2);
    let second = listed[0]["id"].as_str().unwrap().to_string();
    let version = app
        .settled_version(&owner.token, &second, VERSION_FIELDS)
        .await;
    assert_eq!(version["status"], "REJECTED", "{version}");
    assert_eq!(check_line(&version, "labels")["status"], "PASSED");
    assert_eq!(check_line(&version, "scan.secrets")["status"], "WARNING");
    let policy = check_line(&version, "scan.policy");
    assert_eq!(policy["status"], "FAILED");
    assert!(
        policy["message"]
            .as_str()
            .unwrap()
            .contains("/root/.ssh/id_ed25519"),
        "{policy}"
    );
    assert_eq!(version["scan"]["passed"], false);
    assert_eq!(version["scan"]["blocking"].as_array().unwrap().len(), 1);
}

const CHANGES: &str = "query($id: ID!) { trainerVersion(id: $id) { hyperparameterChanges {
    name kind previous { type } current { type }
} } }";

/// (name, kind, previous type, current type) of each change of version `id`.
async fn hyperparameter_changes(app: &TestApp, token: &str, id: &str) -> Vec<[String; 4]> {
    let data = app.data(Some(token), CHANGES, json!({"id": id})).await;
    let text = |value: &Value| value.as_str().unwrap_or("-").to_string();
    data["trainerVersion"]["hyperparameterChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            [
                text(&change["name"]),
                text(&change["kind"]),
                text(&change["previous"]["type"]),
                text(&change["current"]["type"]),
            ]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_lists_how_its_hyperparameters_changed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let first_schema = json!([
        {"name": "lr", "type": "FLOAT", "default": 0.01},
        {"name": "epochs", "type": "INT", "default": 10},
        {"name": "momentum", "type": "FLOAT", "default": 0.9},
    ]);
    let first = app
        .request_trainer_upload(&owner.token, &project, "Leaf Net", first_schema.clone())
        .await;
    let layer = tar_layer(&[("train", b"#!/bin/sh\necho training\n", 0o755)]);
    let config = image_config(&LABELS, &[&layer]);
    let pushed = Registry::new(app.url())
        .push_upload(&first, &config, &[&layer])
        .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(
        app.settled_version(&owner.token, &first.version_id, VERSION_FIELDS)
            .await["status"],
        "TEST_RUN"
    );
    let second = app
        .request_trainer_upload(
            &owner.token,
            &project,
            "Leaf Net",
            json!([
                {"name": "lr", "type": "FLOAT", "default": 0.01},
                {"name": "epochs", "type": "STR", "default": "10"},
                {"name": "warmup", "type": "INT", "default": 3},
            ]),
        )
        .await;
    let change = |name: &str, kind: &str, previous: &str, current: &str| {
        [name, kind, previous, current].map(str::to_string)
    };
    // Compared with the pushed first version, though this one is not pushed yet.
    assert_eq!(
        hyperparameter_changes(&app, &owner.token, &second.version_id).await,
        [
            change("epochs", "TYPE_CHANGED", "INT", "STR"),
            change("warmup", "ADDED", "-", "INT"),
            change("momentum", "REMOVED", "FLOAT", "-"),
        ]
    );
    // The first version has nothing to compare with; a third is compared with the first,
    // as the second still awaits its upload.
    assert!(
        hyperparameter_changes(&app, &owner.token, &first.version_id)
            .await
            .is_empty()
    );
    let third = app
        .request_trainer_upload(&owner.token, &project, "Leaf Net", first_schema)
        .await;
    assert!(
        hyperparameter_changes(&app, &owner.token, &third.version_id)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_watch_the_checks_and_shared_layers_are_scanned_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let upload = app
        .request_trainer_upload(&owner.token, &project, "Shared", json!([]))
        .await;
    let key = upload.key.as_str();
    let version_id = upload.version_id.as_str();
    let registry = Registry::new(app.url());
    let bearer = registry
        .bearer("upload", key, "acme/shared", "push,pull")
        .await;

    // A first, plain push scans the base layer.
    let push = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    let plain = registry
        .bearer(&owner.email, &push, "acme/shared", "push,pull")
        .await;
    let base = tar_layer(&[("etc/base.txt", b"shared base layer", 0o644)]);
    let config = image_config(&LABELS, &[&base]);
    let first = registry
        .push_image(&plain, "acme/shared", "base", &config, &[&base])
        .await;
    assert_eq!(first.status(), 201);
    let listed = versions(&app, &owner.token, &org_id).await;
    let base_version = listed
        .iter()
        .find(|v| v["status"] != "AWAITING_UPLOAD")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.settled_version(&owner.token, &base_version, VERSION_FIELDS)
        .await;

    let mut socket = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();
    socket
        .subscribe(
            "version",
            "subscription($v: ID!) { trainerVersionUpdated(versionId: $v) { status checks { name message } } }",
            json!({"v": version_id}),
        )
        .await;
    // Give the server the moment it needs to register the subscription before the push.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let top = tar_layer(&[("train", b"#!/bin/sh\n", 0o755)]);
    let config = image_config(&LABELS, &[&base, &top]);
    let pushed = registry
        .push_image(&bearer, "acme/shared", key, &config, &[&base, &top])
        .await;
    assert_eq!(pushed.status(), 201);

    let mut statuses = Vec::new();
    let scanned = loop {
        let message = socket.next_message().await.unwrap();
        assert_eq!(message["type"], "next", "{message}");
        let version = message["payload"]["data"]["trainerVersionUpdated"].clone();
        statuses.push(version["status"].as_str().unwrap().to_string());
        if version["status"] != "VALIDATING" && version["status"] != "SCANNING" {
            break version;
        }
    };
    assert_eq!(statuses[..2], ["VALIDATING", "SCANNING"], "{statuses:?}");
    assert_eq!(statuses[2], "TEST_RUN", "{statuses:?}: {scanned}");
    let layers = scanned["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "scan.layers")
        .unwrap();
    assert_eq!(
        layers["message"], "2 layers read (1 scanned before)",
        "{layers}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_trainer_and_upload_requests_name_their_field_and_store_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let create = "mutation($input: CreateTrainerInput!) { createTrainer(input: $input) { id } }";
    for (input, field) in [
        (
            json!({"orgId": org_id, "name": "  ", "taskTypes": ["CLASSIFICATION"]}),
            "name",
        ),
        (
            json!({"orgId": org_id, "name": "!!!", "taskTypes": ["CLASSIFICATION"]}),
            "name",
        ),
        (
            json!({"orgId": org_id, "name": "Net", "taskTypes": []}),
            "taskTypes",
        ),
        (
            json!({"orgId": org_id, "name": "Net", "taskTypes": ["POSE"], "description": "x".repeat(5000)}),
            "description",
        ),
    ] {
        let (code, error) = app
            .error(Some(&owner.token), create, json!({"input": input}))
            .await;
        assert_eq!(
            (code.as_str(), &error["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!(field)),
            "{error}"
        );
    }
    let request = "mutation($input: RequestTrainerUploadInput!) { requestTrainerUpload(input: $input) { id } }";
    for (input, field) in [
        (
            json!({"projectId": project, "modelName": "***"}),
            "modelName",
        ),
        (
            json!({"projectId": "not-an-id", "modelName": "Net"}),
            "projectId",
        ),
        (
            json!({"projectId": project, "modelName": "Net", "hyperParameters": [
                {"name": "lr", "type": "FLOAT"}, {"name": "lr", "type": "INT"},
            ]}),
            "hyperparameters",
        ),
        (
            json!({"projectId": project, "modelName": "Net", "hyperParameters": [
                {"name": "epochs", "type": "INT", "default": "many"},
            ]}),
            "hyperparameters",
        ),
        (
            json!({"projectId": project, "modelName": "Net", "hyperParameters": [
                {"name": "lr", "type": "FLOAT", "switch": true},
            ]}),
            "hyperparameters",
        ),
    ] {
        let (code, error) = app
            .error(Some(&owner.token), request, json!({"input": input}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{error}");
        assert!(
            error["extensions"]["field"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{field}: {error}"
        );
    }
    // Nothing was created by the refused requests.
    let trainers = app
        .data(
            Some(&owner.token),
            "query($o: ID!) { trainers(orgId: $o) { nodes { id } } }",
            json!({"o": org_id}),
        )
        .await;
    assert_eq!(trainers["trainers"]["nodes"], json!([]));
}
