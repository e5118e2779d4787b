//! Split assignment: annotations > split folders > seeded ratio (stratified for
//! classification).
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{
    Entries, Sandbox, entry, expect_failure, expect_success, import_entries, png, zip_of,
};
use keynet_datasets::{Limits, SplitConfig, SplitSource, Splits, TaskType};
use serde_json::json;

#[test]
fn annotation_splits_win_over_folders() {
    let entries = vec![
        entry("images/train/a.png", png(8, 8, 1)),
        entry("images/train/b.png", png(8, 8, 2)),
        entry("images/val/c.png", png(8, 8, 3)),
        entry(
            "annotations_classification.json",
            json!({
                "classes": [{"id": 0, "name": "x"}],
                "images": [
                    {"id": "a", "file_name": "train/a.png"},
                    // The per-image field is an annotation split too…
                    {"id": "b", "file_name": "train/b.png", "split": "val"},
                    {"id": "c", "file_name": "val/c.png"}
                ],
                "annotations": []
            })
            .to_string(),
        ),
        // …and splits.json overrides the folder of `a`.
        entry("splits.json", json!({"test": ["a"]}).to_string()),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Classification));
    assert_eq!(imported.splits.test, ["a"]);
    assert_eq!(imported.splits.val, ["b", "c"]);
    assert!(imported.splits.train.is_empty());
    assert_eq!(imported.split_source, SplitSource::Annotations);
}

#[test]
fn coco_file_names_win_over_folders() {
    let entries = vec![
        entry(
            "instances_val.json",
            json!({
                "images": [{"id": 1, "file_name": "train/a.png"}],
                "categories": [{"id": 1, "name": "x"}],
                "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]
            })
            .to_string(),
        ),
        entry("train/a.png", png(8, 8, 1)),
        entry("train/b.png", png(8, 8, 2)),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Detection));
    assert_eq!(imported.splits.val, ["train/a.png"]);
    assert_eq!(imported.splits.train, ["train/b.png"]);
    assert_eq!(imported.split_source, SplitSource::Annotations);
}

#[test]
fn folders_win_over_the_ratio() {
    let entries = vec![
        entry("data.yaml", "names: [x]\n"),
        entry("images/test/a.png", png(8, 8, 1)),
        entry("images/test/b.png", png(8, 8, 2)),
        entry("images/c.png", png(8, 8, 3)),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Detection));
    assert_eq!(imported.splits.test, ["test/a.png", "test/b.png"]);
    // The one image without a split folder falls through to the ratio.
    assert_eq!(imported.splits.train, ["c.png"]);
    assert_eq!(imported.split_source, SplitSource::Folders);
}

/// Two classes of 20 and 10 images, no split given anywhere.
fn unsplit_classes() -> Entries {
    let mut entries = Vec::new();
    for index in 0..20u8 {
        entries.push(entry(&format!("cat/{index:02}.png"), png(8, 8, index)));
    }
    for index in 0..10u8 {
        entries.push(entry(
            &format!("dog/{index:02}.png"),
            png(8, 8, 100 + index),
        ));
    }
    entries
}

fn ratio_splits(entries: &Entries, task: TaskType, seed: u64) -> Splits {
    let config = SplitConfig {
        seed,
        ..SplitConfig::default()
    };
    let imported = expect_success(Sandbox::new(&zip_of(entries)).import_with(
        task,
        &config,
        &Limits::default(),
    ));
    assert_eq!(imported.split_source, SplitSource::Ratio);
    imported.splits
}

fn count_of(ids: &[String], class: &str) -> usize {
    ids.iter().filter(|id| id.starts_with(class)).count()
}

#[test]
fn ratio_split_is_deterministic_for_a_seed() {
    let entries = unsplit_classes();
    let first = ratio_splits(&entries, TaskType::Classification, 7);
    assert_eq!(first, ratio_splits(&entries, TaskType::Classification, 7));
    assert_ne!(first, ratio_splits(&entries, TaskType::Classification, 8));

    // Same content in a different entry order: same split.
    let mut reversed = entries.clone();
    reversed.reverse();
    assert_eq!(first, ratio_splits(&reversed, TaskType::Classification, 7));
}

#[test]
fn ratio_split_is_stratified_by_class_for_classification() {
    let splits = ratio_splits(&unsplit_classes(), TaskType::Classification, 42);
    let per_class = |class| {
        [
            count_of(&splits.train, class),
            count_of(&splits.val, class),
            count_of(&splits.test, class),
        ]
    };
    assert_eq!(per_class("cat"), [16, 2, 2]);
    assert_eq!(per_class("dog"), [8, 1, 1]);
}

#[test]
fn ratio_split_honours_custom_ratios() {
    let entries: Entries = (0..10u8)
        .map(|index| entry(&format!("images/{index}.png"), png(8, 8, index)))
        .chain([entry("data.yaml", "names: [x]\n")])
        .collect();
    let config = SplitConfig {
        train: 0.5,
        val: 0.5,
        test: 0.0,
        seed: 1,
    };
    let imported = expect_success(Sandbox::new(&zip_of(&entries)).import_with(
        TaskType::Detection,
        &config,
        &Limits::default(),
    ));
    assert_eq!(
        [
            imported.splits.train.len(),
            imported.splits.val.len(),
            imported.splits.test.len()
        ],
        [5, 5, 0]
    );
}

#[test]
fn invalid_ratios_are_refused_before_any_work() {
    let sandbox = Sandbox::new(&zip_of(&unsplit_classes()));
    for (train, val, test) in [(0.8, 0.1, 0.2), (1.2, -0.1, -0.1), (f64::NAN, 0.5, 0.5)] {
        let config = SplitConfig {
            train,
            val,
            test,
            seed: 1,
        };
        let failure = expect_failure(sandbox.import_with(
            TaskType::Classification,
            &config,
            &Limits::default(),
        ));
        common::assert_fatal(
            &failure,
            "",
            "split ratios must be non-negative and add up to 1",
        );
    }
    assert!(!sandbox.work_dir().exists());
    assert!(SplitConfig::default().validate().is_ok());
    let _ = serde_json::to_string(&SplitConfig::default()).unwrap();
}
