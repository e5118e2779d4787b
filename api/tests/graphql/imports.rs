//! Getting a dataset in: signed upload URL, PUT, complete, import by the workers; the
//! direct multipart upload; refused archives that leave the dataset as it was.

use keynet_testkit::{Account, TestApp, fixtures, ws};
use serde_json::{Value, json};

const START: &str = "mutation($d: ID!, $f: String!, $s: Int!) { createDatasetUpload(datasetId: $d, filename: $f, sizeBytes: $s) { uploadUrl upload { id status } } }";
const COMPLETE: &str =
    "mutation($u: ID!) { completeDatasetUpload(uploadId: $u) { status sizeBytes } }";
const STATE: &str = "query($d: ID!) { dataset(id: $d) { importStatus format statistics importErrors { edges { node { file reason } } } uploads { edges { node { status errorCount } } } } }";

on_both_backends!(
    archives_are_uploaded_and_imported,
    refused_archives_change_nothing,
    snapshots_are_immutable_versions,
    snapshots_can_divide_the_splits_again,
    unreferenced_files_are_collected where |s| s.storage.gc_grace_secs = 0,
    import_progress_is_streamed,
    several_task_types_import_what_fits,
);

async fn dataset(app: &TestApp, owner: &Account) -> String {
    let org = app.create_org(owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let created = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Photos\"}) { id } }",
            json!({"p": project}),
        )
        .await;
    created["createDataset"]["id"].as_str().unwrap().to_string()
}

/// Uploads through a signed URL and completes; returns the dataset's state once the import
/// is over (bounded wait).
async fn upload_and_wait(app: &TestApp, owner: &Account, dataset: &str, archive: Vec<u8>) -> Value {
    let started = app
        .data(
            Some(&owner.token),
            START,
            json!({"d": dataset, "f": "photos.zip", "s": archive.len()}),
        )
        .await["createDatasetUpload"]
        .clone();
    assert_eq!(started["upload"]["status"], "AWAITING_UPLOAD");
    let url = started["uploadUrl"].as_str().unwrap();
    let put = app.http.put(url).body(archive).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 200, "{}", put.text().await.unwrap());
    let completed = app
        .data(
            Some(&owner.token),
            COMPLETE,
            json!({"u": started["upload"]["id"]}),
        )
        .await;
    assert_eq!(completed["completeDatasetUpload"]["status"], "QUEUED");
    app.wait_for_import(&owner.token, dataset).await;
    dataset_state(app, owner, dataset).await
}

async fn dataset_state(app: &TestApp, owner: &Account, dataset: &str) -> Value {
    app.data(Some(&owner.token), STATE, json!({"d": dataset}))
        .await["dataset"]
        .clone()
}

async fn archives_are_uploaded_and_imported(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let state = upload_and_wait(
        app,
        &owner,
        &dataset,
        fixtures::image_folder(&[("ok", 6), ("scratch", 4)]),
    )
    .await;
    assert_eq!(state["importStatus"], "READY", "{state:#}");
    assert_eq!(state["format"], "image_folder");
    assert_eq!(state["statistics"]["images"], 10);
    assert_eq!(state["statistics"]["classes"], 2);
    assert_eq!(
        state["uploads"]["edges"][0]["node"],
        json!({"status": "SUCCEEDED", "errorCount": 0})
    );
    let storage = "query { organization(slug: \"acme\") { storageBytes } }";
    let stored =
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"]
            .as_i64()
            .unwrap();
    assert!(stored > 0);

    // The same images again, by the direct upload: nothing new to store but the manifest.
    let archive = fixtures::image_folder(&[("ok", 6), ("scratch", 4)]);
    let archive_size = archive.len();
    assert_eq!(
        app.import_archive(&owner.token, &dataset, archive).await,
        "READY"
    );
    let state = dataset_state(app, &owner, &dataset).await;
    assert_eq!(state["importStatus"], "READY");
    assert_eq!(state["uploads"]["edges"][0]["node"]["status"], "SUCCEEDED");
    let sizes = app
        .data(
            Some(&owner.token),
            "query($d: ID!) { dataset(id: $d) { uploads { edges { node { sizeBytes } } } } }",
            json!({"d": dataset}),
        )
        .await;
    assert_eq!(
        sizes["dataset"]["uploads"]["edges"][0]["node"]["sizeBytes"], archive_size,
        "the direct upload records the size it received"
    );
    let again =
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"]
            .as_i64()
            .unwrap();
    assert_eq!(
        again, stored,
        "identical images and manifest are stored once"
    );
}

/// `status`, `lastImport` and the newest upload's id of the dataset.
async fn usability(app: &TestApp, owner: &Account, dataset: &str) -> Value {
    let query = "query($d: ID!) { dataset(id: $d) { status lastImport { uploadId status error at } uploads(first: 1) { edges { node { id } } } } }";
    app.data(Some(&owner.token), query, json!({"d": dataset}))
        .await["dataset"]
        .clone()
}

async fn refused_archives_change_nothing(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let fresh = usability(app, &owner, &dataset).await;
    assert_eq!(
        (&fresh["status"], &fresh["lastImport"]),
        (&json!("EMPTY"), &Value::Null)
    );
    let good = upload_and_wait(
        app,
        &owner,
        &dataset,
        fixtures::image_folder(&[("a", 3), ("b", 3)]),
    )
    .await;
    assert_eq!(good["importStatus"], "READY");
    let imported = usability(app, &owner, &dataset).await;
    assert_eq!(imported["status"], "READY");
    assert_eq!(imported["lastImport"]["status"], "SUCCEEDED");
    assert_eq!(imported["lastImport"]["error"], Value::Null);

    let bad = fixtures::zip(&[
        ("a/1.png".into(), fixtures::png(8, 8, 1)),
        ("a/notes.txt".into(), b"not an image".to_vec()),
        ("../escape.png".into(), fixtures::png(8, 8, 2)),
    ]);
    let state = upload_and_wait(app, &owner, &dataset, bad).await;
    assert_eq!(state["importStatus"], "FAILED");
    // Still usable, with the refused import told apart.
    let refused = usability(app, &owner, &dataset).await;
    assert_eq!(refused["status"], "READY", "{refused:#}");
    let last = &refused["lastImport"];
    assert_eq!(last["status"], "FAILED");
    assert_eq!(
        last["uploadId"],
        refused["uploads"]["edges"][0]["node"]["id"]
    );
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .starts_with("dataset import failed: "),
        "{last}"
    );
    let at = |value: &Value| chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap();
    assert!(at(&last["at"]) >= at(&imported["lastImport"]["at"]));
    let snapshot = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { imageCount } }",
            json!({"d": dataset}),
        )
        .await;
    assert_eq!(snapshot["createDatasetSnapshot"]["imageCount"], 6);
    let errors = state["importErrors"]["edges"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors[0]["node"]["reason"].as_str().unwrap().len() > 5,
        "{errors:?}"
    );
    assert_eq!(
        state["statistics"], good["statistics"],
        "the dataset keeps its content"
    );

    // Declared sizes, names and ids are checked before anything is stored.
    for (vars, field) in [
        (
            json!({"d": dataset, "f": "photos.tar", "s": 10}),
            "filename",
        ),
        (
            json!({"d": dataset, "f": "../photos.zip", "s": 10}),
            "filename",
        ),
        (
            json!({"d": dataset, "f": "photos.zip", "s": 0}),
            "sizeBytes",
        ),
    ] {
        let (code, error) = app.error(Some(&owner.token), START, vars).await;
        assert_eq!(
            (code.as_str(), &error["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!(field))
        );
    }
    let started = app
        .data(
            Some(&owner.token),
            START,
            json!({"d": dataset, "f": "x.zip", "s": 100}),
        )
        .await;
    let upload = &started["createDatasetUpload"]["upload"]["id"];
    let (code, error) = app
        .error(Some(&owner.token), COMPLETE, json!({"u": upload}))
        .await;
    assert_eq!(
        (code.as_str(), error["message"].as_str().unwrap()),
        ("BAD_USER_INPUT", "nothing was uploaded yet")
    );
    let url = started["createDatasetUpload"]["uploadUrl"]
        .as_str()
        .unwrap();
    let short = app.http.put(url).body(vec![0u8; 40]).send().await.unwrap();
    assert_eq!(short.status().as_u16(), 400, "a short upload is refused");
    let tampered = app
        .http
        .put(url.replace("signature=", "signature=00"))
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status().as_u16(), 403);

    let response = app
        .http
        .post(format!("{}/api/v1/datasets/{dataset}/upload", app.url()))
        .multipart(reqwest::multipart::Form::new().text("file", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        401,
        "the direct upload needs a token"
    );
}

async fn snapshots_are_immutable_versions(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let snapshot = "mutation($d: ID!, $n: String!) { createDatasetSnapshot(input: {datasetId: $d, note: $n}) { id version imageCount note } }";
    let (code, _) = app
        .error(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "n": "empty"}),
        )
        .await;
    assert_eq!(code, "CONFLICT", "nothing imported yet");

    let first = fixtures::image_folder(&[("a", 4), ("b", 2)]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, first).await,
        "READY"
    );
    let v1 = app
        .data(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "n": "baseline"}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(
        (v1["version"].as_i64(), v1["imageCount"].as_i64()),
        (Some(1), Some(6))
    );
    let storage = "query { organization(slug: \"acme\") { storageBytes } }";
    let bytes = |data: Value| data["organization"]["storageBytes"].as_i64().unwrap();
    let after_first = bytes(app.data(Some(&owner.token), storage, json!({})).await);

    // A new import with two more images: the first six are the same files.
    let second = fixtures::image_folder(&[("a", 4), ("b", 2), ("c", 2)]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, second).await,
        "READY"
    );
    let v2 = app
        .data(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "n": "more"}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(
        (v2["version"].as_i64(), v2["imageCount"].as_i64()),
        (Some(2), Some(8))
    );
    let after_second = bytes(app.data(Some(&owner.token), storage, json!({})).await);
    let two_images_and_a_manifest = after_second - after_first;
    assert!(
        two_images_and_a_manifest > 0 && two_images_and_a_manifest < after_first,
        "{after_first} then {after_second}"
    );

    let one = "query($id: ID!) { snapshot(id: $id) { version imageCount note } }";
    let frozen = app
        .data(Some(&owner.token), one, json!({"id": v1["id"]}))
        .await;
    assert_eq!(
        frozen["snapshot"],
        json!({"version": 1, "imageCount": 6, "note": "baseline"}),
        "v1 did not change"
    );
    // v1 downloads as it was: the DICE layout with its six images.
    let link = "query($id: ID!) { snapshot(id: $id) { downloadUrl } }";
    let url = app
        .data(Some(&owner.token), link, json!({"id": v1["id"]}))
        .await["snapshot"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("photos-v1.zip")
    );
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"annotations_classification.json".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"splits.json".to_string()));
    assert_eq!(names.iter().filter(|n| n.starts_with("images/")).count(), 6);
    let annotations: Value =
        serde_json::from_reader(archive.by_name("annotations_classification.json").unwrap())
            .unwrap();
    assert_eq!(annotations["images"].as_array().unwrap().len(), 6);
    for tampered in [
        url.replace("token=", "token=x"),
        url.replace(v1["id"].as_str().unwrap(), v2["id"].as_str().unwrap()),
    ] {
        let refused = app.http.get(&tampered).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 401, "{tampered}");
    }

    let list = "query($d: ID!) { dataset(id: $d) { snapshots { edges { node { version } } } } }";
    let versions = app
        .data(Some(&owner.token), list, json!({"d": dataset}))
        .await;
    assert_eq!(
        versions["dataset"]["snapshots"]["edges"],
        json!([{"node": {"version": 2}}, {"node": {"version": 1}}])
    );
}

/// The split counts of a snapshot, from its downloaded `splits.json`.
async fn split_counts(app: &TestApp, owner: &Account, snapshot: &Value) -> [usize; 3] {
    let link = "query($id: ID!) { snapshot(id: $id) { downloadUrl } }";
    let url = app
        .data(Some(&owner.token), link, json!({"id": snapshot["id"]}))
        .await["snapshot"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes = app
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let splits: Value = serde_json::from_reader(archive.by_name("splits.json").unwrap()).unwrap();
    ["train", "val", "test"].map(|split| splits[split].as_array().unwrap().len())
}

async fn snapshots_can_divide_the_splits_again(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let snapshot = "mutation($d: ID!, $c: SplitConfigInput) { createDatasetSnapshot(input: {datasetId: $d, splitConfig: $c}) { id version splitConfig { train val test seed } } }";
    assert_eq!(
        app.import_archive(&owner.token, &dataset, fixtures::image_folder(&[("a", 10)]))
            .await,
        "READY"
    );
    let default = app
        .data(Some(&owner.token), snapshot, json!({"d": dataset}))
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(split_counts(app, &owner, &default).await, [8, 1, 1]);
    let halves = json!({"train": 0.5, "val": 0.5, "test": 0.0, "seed": 9});
    let divided = app
        .data(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "c": halves}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(divided["splitConfig"], halves);
    assert_eq!(split_counts(app, &owner, &divided).await, [5, 5, 0]);
    // The earlier snapshot and the dataset's own configuration are unchanged.
    assert_eq!(split_counts(app, &owner, &default).await, [8, 1, 1]);
    let own = app
        .data(
            Some(&owner.token),
            "query($d: ID!) { dataset(id: $d) { splitConfig { train } } }",
            json!({"d": dataset}),
        )
        .await;
    assert_eq!(own["dataset"]["splitConfig"]["train"], 0.8);
    let (code, error) = app
        .error(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "c": {"train": 0.9, "val": 0.9, "test": 0.0, "seed": 1}}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("splitConfig"))
    );

    // Splits the upload gave (split folders) stay as they were.
    let folders = fixtures::zip(&[
        ("train/a/1.png".to_string(), fixtures::png(8, 8, 1)),
        ("train/a/2.png".to_string(), fixtures::png(8, 8, 2)),
        ("train/b/3.png".to_string(), fixtures::png(8, 8, 3)),
        ("val/a/4.png".to_string(), fixtures::png(8, 8, 4)),
        ("val/b/5.png".to_string(), fixtures::png(8, 8, 5)),
    ]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, folders).await,
        "READY"
    );
    let all_test = json!({"train": 0.0, "val": 0.0, "test": 1.0, "seed": 1});
    let kept = app
        .data(
            Some(&owner.token),
            snapshot,
            json!({"d": dataset, "c": all_test}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(split_counts(app, &owner, &kept).await, [3, 2, 0]);
}

/// Deleting a dataset gives back the space of the files only it used; shared files stay.
async fn unreferenced_files_are_collected(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let kept = dataset(app, &owner).await;
    let project = app
        .data(
            Some(&owner.token),
            "query($d: ID!) { dataset(id: $d) { projectId } }",
            json!({"d": kept}),
        )
        .await["dataset"]["projectId"]
        .as_str()
        .unwrap()
        .to_string();
    let storage = "query { organization(slug: \"acme\") { storageBytes } }";
    let bytes = || async {
        app.data(Some(&owner.token), storage, json!({})).await["organization"]["storageBytes"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        app.import_archive(&owner.token, &kept, fixtures::image_folder(&[("a", 4)]))
            .await,
        "READY"
    );
    let kept_alone = bytes().await;

    // A second dataset sharing the four images of the first, with two more.
    let removed = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Extra\"}) { id } }",
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.import_archive(
            &owner.token,
            &removed,
            fixtures::image_folder(&[("a", 4), ("b", 2)])
        )
        .await,
        "READY"
    );
    assert!(bytes().await > kept_alone);
    app.data(
        Some(&owner.token),
        "mutation($d: ID!) { deleteDataset(id: $d) }",
        json!({"d": removed}),
    )
    .await;
    let mut collected = false;
    for _ in 0..300 {
        if bytes().await == kept_alone {
            collected = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        collected,
        "storage stayed at {} instead of {kept_alone}",
        bytes().await
    );
    // The shared files are still there: the kept dataset still downloads whole.
    let snapshot = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id } }",
            json!({"d": kept}),
        )
        .await["createDatasetSnapshot"]
        .clone();
    assert_eq!(
        split_counts(app, &owner, &snapshot)
            .await
            .iter()
            .sum::<usize>(),
        4
    );
}

async fn import_progress_is_streamed(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let dataset = dataset(app, &owner).await;
    let mut socket = ws::connect(app.url(), json!({"token": owner.token}))
        .await
        .unwrap();
    socket
        .subscribe(
            "import",
            "subscription($d: ID!) { datasetImport(datasetId: $d) { datasetId status } }",
            json!({"d": dataset}),
        )
        .await;
    // A refused archive, then a good one: each import reports its steps.
    let refused = fixtures::zip(&[("notes.txt".to_string(), b"no images".to_vec())]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, refused).await,
        "FAILED"
    );
    assert_eq!(
        app.import_archive(&owner.token, &dataset, fixtures::image_folder(&[("a", 2)]))
            .await,
        "READY"
    );
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("SUCCEEDED") {
        let message = socket.next_message().await.unwrap();
        let update = &message["payload"]["data"]["datasetImport"];
        assert_eq!(update["datasetId"], dataset, "{message}");
        statuses.push(update["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["IMPORTING", "FAILED", "IMPORTING", "SUCCEEDED"]);
}

/// A YOLO detection archive: `data.yaml`, two images and their boxes.
fn yolo_boxes(label: &str) -> Vec<u8> {
    fixtures::zip(&[
        ("data.yaml".to_string(), b"names: [cat, dog]\n".to_vec()),
        ("images/a.png".to_string(), fixtures::png(16, 16, 1)),
        ("images/b.png".to_string(), fixtures::png(16, 16, 2)),
        ("labels/a.txt".to_string(), label.as_bytes().to_vec()),
        ("labels/b.txt".to_string(), b"1 0.5 0.5 0.5 0.5\n".to_vec()),
    ])
}

async fn several_task_types_import_what_fits(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let dataset = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Mixed\", taskTypes: [DETECTION, CLASSIFICATION]}) { id } }",
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        app.import_archive(&owner.token, &dataset, yolo_boxes("0 0.5 0.5 0.2 0.2\n"))
            .await,
        "READY",
        "{:#}",
        dataset_state(app, &owner, &dataset).await
    );
    let state = dataset_state(app, &owner, &dataset).await;
    assert_eq!(state["format"], "yolo");
    assert_eq!(state["statistics"]["images"], 2);

    // Labels no task type takes: refused, naming both task types tried.
    assert_eq!(
        app.import_archive(&owner.token, &dataset, yolo_boxes("0 0.5 0.5\n"))
            .await,
        "FAILED"
    );
    let reasons = import_reasons(&dataset_state(app, &owner, &dataset).await);
    assert!(
        reasons[0].contains("fits none of the task types tried (classification or detection)"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("expected `class cx cy w h`"),
        "{reasons:?}"
    );
    // Labels for another task type only (DICE pose): the same.
    let pose_only = fixtures::zip(&[
        ("annotations_pose.json".to_string(), b"{}".to_vec()),
        ("images/a.png".to_string(), fixtures::png(16, 16, 3)),
    ]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, pose_only).await,
        "FAILED"
    );
    let reasons = import_reasons(&dataset_state(app, &owner, &dataset).await);
    assert!(
        reasons[0].contains("tried (classification or detection)"),
        "{reasons:?}"
    );
}

fn import_reasons(state: &Value) -> Vec<String> {
    state["importErrors"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["reason"].as_str().unwrap().to_string())
        .collect()
}
