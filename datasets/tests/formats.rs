//! Each supported upload format, converted to the expected DICE content.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{Entries, entry, expect_success, import_entries, jpeg, nested, png};
use keynet_datasets::{Format, Imported, SplitSource, TaskType};
use serde_json::json;

fn dice_upload() -> Entries {
    vec![
        entry("images/a.png", png(40, 30, 1)),
        entry("images/b.jpg", jpeg(64, 48, 2)),
        // Not listed in the annotation file: kept, unlabelled.
        entry("images/c.png", png(20, 20, 3)),
        entry(
            "annotations_detection.json",
            json!({
                "classes": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
                "images": [
                    {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
                    {"id": "b", "file_name": "images/b.jpg", "width": 64, "height": 48}
                ],
                "annotations": [
                    {"image_id": 1, "class_id": 0, "bbox": [1.0, 2.0, 3.0, 4.0]},
                    {"image_id": "b", "class_id": 1, "bbox": [5.0, 6.0, 7.0, 8.0]}
                ]
            })
            .to_string(),
        ),
        entry(
            "annotations_classification.json",
            json!({
                "classes": [{"id": 0, "name": "indoor"}],
                "images": [{"id": 1, "file_name": "a.png"}, {"id": "b", "file_name": "b.jpg"}],
                "annotations": [{"image_id": 1, "class_id": 0}]
            })
            .to_string(),
        ),
        entry(
            "splits.json",
            json!({"train": [1], "val": ["b"]}).to_string(),
        ),
        entry("README.md", "my dataset"),
        // Operating-system clutter, ignored.
        entry("__MACOSX/images/._a.png", "junk"),
        entry(".DS_Store", "junk"),
        entry("images/.hidden.png", "junk"),
        entry("images/Thumbs.db", "junk"),
    ]
}

fn assert_dice(imported: &Imported) {
    assert_eq!(imported.format, Format::Dice);
    assert_eq!(
        serde_json::to_value(&imported.annotations).unwrap(),
        json!({
            "classes": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
            "images": [
                {"id": "1", "file_name": "a.png", "width": 40, "height": 30},
                {"id": "b", "file_name": "b.jpg", "width": 64, "height": 48},
                {"id": "c.png", "file_name": "c.png", "width": 20, "height": 20}
            ],
            "annotations": [
                {"image_id": "1", "class_id": 0, "bbox": [1.0, 2.0, 3.0, 4.0]},
                {"image_id": "b", "class_id": 1, "bbox": [5.0, 6.0, 7.0, 8.0]}
            ]
        })
    );
    assert_eq!(imported.splits.train, ["1", "c.png"]);
    assert_eq!(imported.splits.val, ["b"]);
    assert!(imported.splits.test.is_empty());
    assert_eq!(imported.split_source, SplitSource::Annotations);
}

#[test]
fn dice_upload_is_read_as_given() {
    let imported = expect_success(import_entries(&dice_upload(), TaskType::Detection));
    assert_dice(&imported);
    let image = &imported.images[1];
    assert_eq!(
        (image.file_name.as_str(), image.width, image.height),
        ("b.jpg", 64, 48)
    );
    assert_eq!(image.size, jpeg(64, 48, 2).len() as u64);
    assert_eq!(image.sha256.len(), 64);
}

#[test]
fn dice_upload_picks_the_file_of_the_task() {
    let imported = expect_success(import_entries(&dice_upload(), TaskType::Classification));
    assert_eq!(imported.annotations.classes[0].name, "indoor");
    assert_eq!(imported.annotations.annotations.len(), 1);
}

#[test]
fn dice_upload_falls_back_to_annotations_json() {
    let mut entries = dice_upload();
    entries.retain(|(name, _)| !name.starts_with("annotations_classification"));
    for (name, _) in &mut entries {
        if name == "annotations_detection.json" {
            *name = "annotations.json".to_owned();
        }
    }
    assert_dice(&expect_success(import_entries(
        &entries,
        TaskType::Detection,
    )));
}

fn yolo_upload() -> Entries {
    vec![
        entry("data.yaml", "names: [cat, dog]\nnc: 2\n"),
        entry("images/train/a.png", png(100, 50, 1)),
        entry(
            "labels/train/a.txt",
            "0 0.5 0.5 0.2 0.4\n\n1 0.25 0.5 0.1 0.2\n",
        ),
        entry("images/val/b.jpg", jpeg(80, 40, 2)),
        entry("labels/val/b.txt", "1 0.5 0.5 1 1\n"),
        entry("images/val/c.png", png(10, 10, 3)),
        // Ultralytics' cache and labelImg's class list are not labels.
        entry("labels/train.cache", "cache"),
        entry("labels/train/classes.txt", "cat\ndog\n"),
    ]
}

fn assert_yolo(imported: &Imported) {
    assert_eq!(imported.format, Format::Yolo);
    assert_eq!(
        serde_json::to_value(&imported.annotations).unwrap(),
        json!({
            "classes": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
            "images": [
                {"id": "train/a.png", "file_name": "train/a.png", "width": 100, "height": 50},
                {"id": "val/b.jpg", "file_name": "val/b.jpg", "width": 80, "height": 40},
                {"id": "val/c.png", "file_name": "val/c.png", "width": 10, "height": 10}
            ],
            "annotations": [
                // cx 50 px, w 20 px → x 40; cy 25 px, h 20 px → y 15.
                {"image_id": "train/a.png", "class_id": 0, "bbox": [40.0, 15.0, 20.0, 20.0]},
                {"image_id": "train/a.png", "class_id": 1, "bbox": [20.0, 20.0, 10.0, 10.0]},
                {"image_id": "val/b.jpg", "class_id": 1, "bbox": [0.0, 0.0, 80.0, 40.0]}
            ]
        })
    );
    assert_eq!(imported.splits.train, ["train/a.png"]);
    assert_eq!(imported.splits.val, ["val/b.jpg", "val/c.png"]);
    assert_eq!(imported.split_source, SplitSource::Folders);
    assert_eq!(imported.statistics.images_without_labels, 1);
}

#[test]
fn yolo_detection_labels_become_pixel_boxes() {
    assert_yolo(&expect_success(import_entries(
        &yolo_upload(),
        TaskType::Detection,
    )));
}

#[test]
fn yolo_names_may_be_a_map_and_the_layout_roboflow_style() {
    let entries = vec![
        entry(
            "data.yaml",
            "names:\n  0: person\n  1: bike\ntrain: ../train/images\nval: ../valid/images\n",
        ),
        entry("train/images/a.png", png(200, 100, 1)),
        entry("train/labels/a.txt", "1 0.5 0.5 0.5 0.5\n"),
        entry("valid/images/b.png", png(50, 50, 2)),
        entry("valid/labels/b.txt", "0 0.1 0.1 0.2 0.2\n"),
        entry("README.roboflow.txt", "exported"),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Detection));
    let names: Vec<&str> = imported
        .annotations
        .classes
        .iter()
        .map(|class| class.name.as_str())
        .collect();
    assert_eq!(names, ["person", "bike"]);
    assert_eq!(
        imported.annotations.annotations[0].bbox,
        Some([50.0, 25.0, 100.0, 50.0])
    );
    assert_eq!(
        imported.annotations.images[0].file_name,
        "train/images/a.png"
    );
    assert_eq!(imported.splits.train, ["train/images/a.png"]);
    assert_eq!(imported.splits.val, ["valid/images/b.png"]);
    assert_eq!(imported.split_source, SplitSource::Annotations);
}

#[test]
fn yolo_segmentation_polygons_become_pixel_polygons() {
    let entries = vec![
        entry("data.yaml", "names: [road]\n"),
        entry("images/a.png", png(100, 50, 1)),
        entry("labels/a.txt", "0 0.1 0.2 0.5 0.2 0.5 0.8\n"),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Segmentation));
    assert_eq!(
        serde_json::to_value(&imported.annotations.annotations).unwrap(),
        json!([{
            "image_id": "a.png",
            "class_id": 0,
            "bbox": [10.0, 10.0, 40.0, 30.0],
            "segmentation": [[10.0, 10.0, 50.0, 10.0, 50.0, 40.0]]
        }])
    );
}

#[test]
fn yolo_pose_keypoints_become_pixel_triples() {
    let entries = vec![
        entry("data.yaml", "names: [person]\nkpt_shape: [2, 3]\n"),
        entry("images/a.png", png(100, 50, 1)),
        entry("labels/a.txt", "0 0.5 0.5 0.2 0.2 0.1 0.2 2 0.3 0.4 1\n"),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Pose));
    assert_eq!(
        imported.annotations.annotations[0].keypoints,
        Some(vec![10.0, 10.0, 2.0, 30.0, 20.0, 1.0])
    );
}

fn coco_upload() -> Entries {
    let categories = json!([{"id": 3, "name": "car"}, {"id": 1, "name": "person"}]);
    vec![
        entry(
            "annotations/instances_train2017.json",
            json!({
                "images": [{"id": 7, "file_name": "a.png", "width": 30, "height": 20}],
                "categories": categories,
                "annotations": [
                    {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4],
                     "segmentation": [[1, 2, 4, 2, 4, 6]], "iscrowd": 0, "area": 6.0},
                    {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5],
                     "segmentation": [], "iscrowd": 0}
                ]
            })
            .to_string(),
        ),
        entry("train2017/a.png", png(30, 20, 1)),
        entry(
            "annotations/instances_val2017.json",
            json!({
                // Ids restart in each file.
                "images": [{"id": 7, "file_name": "b.png", "width": 16, "height": 16}],
                "categories": categories,
                "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 2, 4, 4]}]
            })
            .to_string(),
        ),
        entry("val2017/b.png", png(16, 16, 2)),
    ]
}

fn assert_coco(imported: &Imported) {
    assert_eq!(imported.format, Format::Coco);
    assert_eq!(
        serde_json::to_value(&imported.annotations).unwrap(),
        json!({
            // Category ids 1 and 3 become classes 0 and 1.
            "classes": [{"id": 0, "name": "person"}, {"id": 1, "name": "car"}],
            "images": [
                {"id": "train2017/a.png", "file_name": "train2017/a.png", "width": 30, "height": 20},
                {"id": "val2017/b.png", "file_name": "val2017/b.png", "width": 16, "height": 16}
            ],
            "annotations": [
                {"image_id": "train2017/a.png", "class_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0],
                 "segmentation": [[1.0, 2.0, 4.0, 2.0, 4.0, 6.0]]},
                {"image_id": "train2017/a.png", "class_id": 0, "bbox": [0.0, 0.0, 5.0, 5.0]},
                {"image_id": "val2017/b.png", "class_id": 0, "bbox": [2.0, 2.0, 4.0, 4.0]}
            ]
        })
    );
    assert_eq!(imported.splits.train, ["train2017/a.png"]);
    assert_eq!(imported.splits.val, ["val2017/b.png"]);
    assert_eq!(imported.split_source, SplitSource::Annotations);
    assert_eq!(imported.statistics.annotations_per_class["person"], 2);
    assert_eq!(imported.statistics.annotations_per_class["car"], 1);
}

#[test]
fn coco_categories_map_to_dense_class_ids() {
    assert_coco(&expect_success(import_entries(
        &coco_upload(),
        TaskType::Detection,
    )));
}

#[test]
fn coco_segmentation_needs_polygons() {
    let failure = common::expect_failure(import_entries(&coco_upload(), TaskType::Segmentation));
    common::assert_issue(
        &failure,
        "annotations/instances_train2017.json",
        "annotation #1: a segmentation annotation needs a segmentation",
    );
}

fn image_folder_upload() -> Entries {
    vec![
        entry("cat/1.png", png(10, 12, 1)),
        entry("cat/2.png", png(14, 16, 2)),
        entry("dog/1.jpg", jpeg(18, 20, 3)),
        entry("dog/puppies/3.png", png(22, 24, 4)),
        entry("labels.txt", "cat\ndog\n"),
    ]
}

fn assert_image_folder(imported: &Imported) {
    assert_eq!(imported.format, Format::ImageFolder);
    assert_eq!(
        serde_json::to_value(&imported.annotations).unwrap(),
        json!({
            "classes": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
            "images": [
                {"id": "cat/1.png", "file_name": "cat/1.png", "width": 10, "height": 12},
                {"id": "cat/2.png", "file_name": "cat/2.png", "width": 14, "height": 16},
                {"id": "dog/1.jpg", "file_name": "dog/1.jpg", "width": 18, "height": 20},
                {"id": "dog/puppies/3.png", "file_name": "dog/puppies/3.png", "width": 22, "height": 24}
            ],
            "annotations": [
                {"image_id": "cat/1.png", "class_id": 0},
                {"image_id": "cat/2.png", "class_id": 0},
                {"image_id": "dog/1.jpg", "class_id": 1},
                {"image_id": "dog/puppies/3.png", "class_id": 1}
            ]
        })
    );
    assert_eq!(imported.split_source, SplitSource::Ratio);
}

#[test]
fn image_folder_classes_come_from_folders() {
    assert_image_folder(&expect_success(import_entries(
        &image_folder_upload(),
        TaskType::Classification,
    )));
}

#[test]
fn image_folder_with_split_folders() {
    let entries = vec![
        entry("train/cat/1.png", png(10, 10, 1)),
        entry("train/dog/2.png", png(10, 10, 2)),
        entry("val/cat/3.png", png(10, 10, 3)),
        entry("test/dog/4.png", png(10, 10, 4)),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Classification));
    assert_eq!(imported.annotations.classes.len(), 2);
    assert_eq!(
        imported.splits.train,
        ["train/cat/1.png", "train/dog/2.png"]
    );
    assert_eq!(imported.splits.val, ["val/cat/3.png"]);
    assert_eq!(imported.splits.test, ["test/dog/4.png"]);
    assert_eq!(imported.split_source, SplitSource::Folders);
}

#[test]
fn single_class_folder_is_not_mistaken_for_a_wrapper() {
    let entries = vec![
        entry("cat/1.png", png(10, 10, 1)),
        entry("cat/2.png", png(10, 10, 2)),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Classification));
    assert_eq!(imported.annotations.classes[0].name, "cat");
}

/// An upload, the task to import it for, and the check of the result.
type Case = (Entries, TaskType, fn(&Imported));

#[test]
fn every_format_may_be_wrapped_in_one_top_folder() {
    let cases: [Case; 4] = [
        (dice_upload(), TaskType::Detection, assert_dice),
        (yolo_upload(), TaskType::Detection, assert_yolo),
        (coco_upload(), TaskType::Detection, assert_coco),
        (
            image_folder_upload(),
            TaskType::Classification,
            assert_image_folder,
        ),
    ];
    for (entries, task, check) in cases {
        let wrapped = nested("My Dataset", &entries);
        check(&expect_success(import_entries(&wrapped, task)));
    }
}
