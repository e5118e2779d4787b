//! `Dataset.samples`: a page of the images with their labels and a URL to show each, for
//! people browsing a dataset (the console's sample grid).

use keynet_testkit::{Account, TestApp, fixtures};
use serde_json::{Value, json};

on_both_backends!(
    samples_show_images_with_their_labels,
    detection_samples_carry_their_boxes,
    sample_pages_refuse_bad_bounds_and_other_orgs,
);

const SAMPLES: &str = "query($d: ID!, $first: Int!, $offset: Int!, $split: DatasetSplit) { dataset(id: $d) { samples(first: $first, offset: $offset, split: $split) { total nodes { imageId fileName width height split url labels { classId className bbox } } } } }";

/// An owner and a dataset of `task_types` in a project of a new organization `slug`.
async fn new_dataset(app: &TestApp, slug: &str, task_types: &str) -> (Account, String) {
    let owner = app.signup(&format!("{slug}@example.com")).await;
    let org = app.create_org(&owner, slug).await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let dataset = app
        .data(
            Some(&owner.token),
            &format!("mutation($p: ID!) {{ createDataset(input: {{projectId: $p, name: \"Photos\", taskTypes: [{task_types}]}}) {{ id }} }}"),
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (owner, dataset)
}

async fn samples(
    app: &TestApp,
    token: &str,
    dataset: &str,
    (first, offset): (i64, i64),
    split: Value,
) -> Value {
    app.data(
        Some(token),
        SAMPLES,
        json!({"d": dataset, "first": first, "offset": offset, "split": split}),
    )
    .await["dataset"]["samples"]
        .clone()
}

async fn samples_show_images_with_their_labels(app: &TestApp) {
    let (owner, dataset) = new_dataset(app, "acme", "CLASSIFICATION").await;
    // Before any import: nothing to show.
    let empty = samples(app, &owner.token, &dataset, (24, 0), Value::Null).await;
    assert_eq!(empty, json!({"total": 0, "nodes": []}));

    let archive = fixtures::image_folder(&[("bolt", 7), ("nut", 5)]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, archive).await,
        "READY"
    );
    let first = samples(app, &owner.token, &dataset, (5, 0), Value::Null).await;
    assert_eq!(first["total"], 12);
    let nodes = first["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    for node in nodes {
        let labels = node["labels"].as_array().unwrap();
        assert_eq!(labels.len(), 1, "{node}");
        let class = labels[0]["className"].as_str().unwrap();
        assert!(
            node["fileName"].as_str().unwrap().contains(class),
            "the label is the image's folder: {node}"
        );
        assert!(labels[0]["bbox"].is_null(), "{node}");
        assert_eq!(node["height"], 12);
        // The URL shows the image itself, without signing in.
        let image = app
            .http
            .get(node["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(image.status().as_u16(), 200);
        assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }
    // The pages cover every image once.
    let rest = samples(app, &owner.token, &dataset, (100, 5), Value::Null).await;
    let mut ids: Vec<&str> = nodes
        .iter()
        .chain(rest["nodes"].as_array().unwrap())
        .map(|node| node["imageId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12);
    let beyond = samples(app, &owner.token, &dataset, (10, 50), Value::Null).await;
    assert_eq!(beyond, json!({"total": 12, "nodes": []}));

    // A split's pages hold that split only, and the splits add up.
    let mut total = 0;
    for split in ["TRAIN", "VAL", "TEST"] {
        let page = samples(app, &owner.token, &dataset, (100, 0), json!(split)).await;
        for node in page["nodes"].as_array().unwrap() {
            assert_eq!(node["split"], split, "{node}");
        }
        total += page["total"].as_i64().unwrap();
    }
    assert_eq!(total, 12);
}

async fn detection_samples_carry_their_boxes(app: &TestApp) {
    let (owner, dataset) = new_dataset(app, "acme", "DETECTION").await;
    let archive = fixtures::zip(&[
        ("data.yaml".to_string(), b"names: [cat, dog]\n".to_vec()),
        ("images/a.png".to_string(), fixtures::png(20, 10, 1)),
        ("labels/a.txt".to_string(), b"1 0.5 0.5 0.5 0.4\n".to_vec()),
    ]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, archive).await,
        "READY"
    );
    let page = samples(app, &owner.token, &dataset, (24, 0), Value::Null).await;
    let node = &page["nodes"][0];
    assert_eq!(
        (node["width"].as_i64(), node["height"].as_i64()),
        (Some(20), Some(10))
    );
    assert_eq!(
        node["labels"],
        json!([{"classId": 1, "className": "dog", "bbox": [5.0, 3.0, 10.0, 4.0]}])
    );
}

async fn sample_pages_refuse_bad_bounds_and_other_orgs(app: &TestApp) {
    let (owner, dataset) = new_dataset(app, "acme", "CLASSIFICATION").await;
    for (first, offset, field) in [(0, 0, "first"), (101, 0, "first"), (10, -1, "offset")] {
        let (code, error) = app
            .error(
                Some(&owner.token),
                SAMPLES,
                json!({"d": dataset, "first": first, "offset": offset}),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
    }
    let (stranger, _) = new_dataset(app, "globex", "CLASSIFICATION").await;
    assert_eq!(
        app.code(
            Some(&stranger.token),
            SAMPLES,
            json!({"d": dataset, "first": 5, "offset": 0}),
        )
        .await,
        "NOT_FOUND"
    );
}
