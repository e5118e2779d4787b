//! Every kind of bad upload gets a clear issue, and nothing is written outside the work
//! folder or left behind.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{
    Entries, Sandbox, ZipBuilder, assert_fatal, assert_issue, entry, expect_failure,
    import_entries, jpeg, png, zip_of,
};
use keynet_datasets::{Limits, SplitConfig, TaskType};
use serde_json::json;

fn import_zip_bytes(zip: &[u8], task: TaskType) -> keynet_datasets::ImportFailure {
    expect_failure(Sandbox::new(zip).import(task))
}

fn import_limited(zip: &[u8], limits: &Limits) -> keynet_datasets::ImportFailure {
    expect_failure(Sandbox::new(zip).import_with(
        TaskType::Detection,
        &SplitConfig::default(),
        limits,
    ))
}

fn yolo_with(extra: Entries) -> Entries {
    let mut entries = vec![
        entry("data.yaml", "names: [cat, dog]\n"),
        entry("images/a.png", png(10, 10, 1)),
    ];
    entries.extend(extra);
    entries
}

fn dice_with(annotations: serde_json::Value, extra: Entries) -> Entries {
    let mut entries = vec![
        entry("images/a.png", png(10, 10, 1)),
        entry("annotations_detection.json", annotations.to_string()),
    ];
    entries.extend(extra);
    entries
}

fn dice_annotations(annotations: serde_json::Value) -> serde_json::Value {
    json!({
        "classes": [{"id": 0, "name": "cat"}],
        "images": [{"id": "a", "file_name": "a.png"}],
        "annotations": annotations
    })
}

// --- The archive itself -----------------------------------------------------------------

#[test]
fn zip_bomb_by_compression_ratio() {
    let zip = ZipBuilder::new()
        .file("data.yaml", "names: [x]\n")
        .file("images/zeros.png", vec![0u8; 8 * 1024 * 1024])
        .finish();
    assert!(zip.len() < 100 * 1024);
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "images/zeros.png", "suspected zip bomb");
}

#[test]
fn zip_bomb_by_entry_size() {
    let zip = ZipBuilder::new()
        .stored("images/big.png", vec![7u8; 5000])
        .finish();
    let limits = Limits {
        max_entry_bytes: 4096,
        ..Limits::default()
    };
    let failure = import_limited(&zip, &limits);
    assert_fatal(
        &failure,
        "images/big.png",
        "more than 4096 bytes, the per-file limit",
    );
}

/// Declares a tiny uncompressed size for every entry, in the local and central headers.
fn understate_sizes(zip: &mut [u8]) {
    for (signature, size_offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
        let starts: Vec<usize> = zip
            .windows(4)
            .enumerate()
            .filter(|(_, window)| window == signature)
            .map(|(at, _)| at)
            .collect();
        for at in starts {
            zip[at + size_offset..at + size_offset + 4].copy_from_slice(&100u32.to_le_bytes());
        }
    }
}

#[test]
fn declared_sizes_are_not_trusted() {
    let mut zip = ZipBuilder::new()
        .file("images/zeros.png", vec![0u8; 3 * 1024 * 1024])
        .finish();
    understate_sizes(&mut zip);
    let limits = Limits {
        max_entry_bytes: 2 * 1024 * 1024,
        max_compression_ratio: u64::MAX,
        ..Limits::default()
    };
    let failure = import_limited(&zip, &limits);
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    let reason = &failure.errors[0].reason;
    // Either we count past the limit, or the zip reader stops at the declared size and
    // the checksum gives the lie away; never a silently accepted file.
    assert!(
        reason.contains("the per-file limit") || reason.contains("corrupt zip entry"),
        "{reason}"
    );
}

#[test]
fn zip_bomb_by_total_size() {
    let zip = ZipBuilder::new()
        .stored("images/1.png", vec![1u8; 3000])
        .stored("images/2.png", vec![2u8; 3000])
        .finish();
    let limits = Limits {
        max_total_uncompressed_bytes: 5000,
        ..Limits::default()
    };
    let failure = import_limited(&zip, &limits);
    assert_fatal(
        &failure,
        "images/2.png",
        "more than 5000 bytes, the limit for an upload",
    );
}

#[test]
fn too_many_entries() {
    let zip = zip_of(&yolo_with(vec![
        entry("images/b.png", png(10, 10, 2)),
        entry("images/c.png", png(10, 10, 3)),
    ]));
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let failure = import_limited(&zip, &limits);
    assert_fatal(
        &failure,
        "",
        "the archive has 4 entries; at most 3 are allowed",
    );
}

#[test]
fn parent_folder_paths_are_refused() {
    let zip = ZipBuilder::new()
        .file("images/a.png", png(10, 10, 1))
        .file("../evil.txt", "owned")
        .finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "../evil.txt", "paths with `..` are not allowed");

    let zip = ZipBuilder::new()
        .file("images/../../evil.txt", "owned")
        .finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "images/../../evil.txt", "`..`");
}

#[test]
fn absolute_paths_are_refused() {
    let zip = ZipBuilder::new()
        .file("/tmp/abs.png", png(10, 10, 1))
        .finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "/tmp/abs.png", "absolute paths are not allowed");

    let zip = ZipBuilder::new()
        .file("C:\\evil.png", png(10, 10, 1))
        .finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "C:\\evil.png", "drive letters");
}

#[test]
fn symlink_entries_are_refused() {
    let zip = ZipBuilder::new()
        .file("data.yaml", "names: [x]\n")
        .symlink("images/a.png", "/etc/passwd")
        .finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "images/a.png", "symbolic links are not allowed");
}

#[test]
fn not_a_zip_and_truncated_zip() {
    let failure = import_zip_bytes(b"this is not a zip file at all", TaskType::Detection);
    assert_fatal(&failure, "", "not a readable zip archive");

    let zip = zip_of(&yolo_with(Vec::new()));
    let failure = import_zip_bytes(&zip[..zip.len() / 2], TaskType::Detection);
    assert_fatal(&failure, "", "not a readable zip archive");
}

#[test]
fn corrupt_entry_data_is_caught_by_its_checksum() {
    let content = b"names: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]\n";
    let mut zip = ZipBuilder::new().stored("data.yaml", content).finish();
    let at = zip
        .windows(content.len())
        .position(|window| window == content)
        .unwrap();
    zip[at + 10] ^= 0x20;
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "data.yaml", "corrupt zip entry");
}

#[test]
fn empty_archive_and_unknown_format() {
    let zip = ZipBuilder::new()
        .dir("images/")
        .file(".DS_Store", "x")
        .finish();
    assert_fatal(
        &import_zip_bytes(&zip, TaskType::Detection),
        "",
        "the archive holds no files",
    );

    let zip = ZipBuilder::new().file("notes.txt", "hello").finish();
    let failure = import_zip_bytes(&zip, TaskType::Detection);
    assert_fatal(&failure, "", "no dataset format recognised");
    assert_issue(&failure, "", "instances_*.json");
    assert_issue(&failure, "", "data.yaml");
}

#[test]
fn yolo_labels_without_data_yaml() {
    let zip = zip_of(&vec![
        entry("images/a.png", png(10, 10, 1)),
        entry("labels/a.txt", "0 0.5 0.5 0.1 0.1\n"),
    ]);
    assert_fatal(
        &import_zip_bytes(&zip, TaskType::Detection),
        "",
        "data.yaml, which names the classes, is missing",
    );
}

#[test]
fn format_that_cannot_hold_the_task() {
    let zip = zip_of(&vec![entry("cat/a.png", png(10, 10, 1))]);
    assert_fatal(
        &import_zip_bytes(&zip, TaskType::Detection),
        "",
        "cannot be imported for detection",
    );
}

#[test]
fn work_folder_in_use_is_refused() {
    let sandbox = Sandbox::new(&zip_of(&yolo_with(Vec::new())));
    std::fs::create_dir_all(sandbox.work_dir().join("extracted")).unwrap();
    std::fs::write(sandbox.work_dir().join("extracted/keep.txt"), "mine").unwrap();
    let failure = keynet_datasets::import_zip(
        &sandbox.zip_path(),
        &sandbox.work_dir(),
        TaskType::Detection,
        &SplitConfig::default(),
        &Limits::default(),
    )
    .unwrap_err();
    assert_fatal(&failure, "", "already holds an import");
    assert!(sandbox.work_dir().join("extracted/keep.txt").exists());
}

// --- The content --------------------------------------------------------------------

#[test]
fn non_image_file_in_images_folder() {
    let entries = dice_with(
        dice_annotations(json!([])),
        vec![entry("images/notes.txt", "hi")],
    );
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(&failure, "images/notes.txt", "not an image file");
}

#[test]
fn truncated_and_unreadable_images() {
    let full_png = png(40, 40, 1);
    let full_jpeg = jpeg(40, 40, 2);
    let entries = yolo_with(vec![
        entry("images/cut.png", &full_png[..full_png.len() - 20]),
        entry("images/cut.jpg", &full_jpeg[..full_jpeg.len() - 30]),
        entry("images/garbage.png", "definitely not a png"),
    ]);
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "images/cut.png",
        "truncated image: the PNG data ends before its IEND chunk",
    );
    assert_issue(
        &failure,
        "images/cut.jpg",
        "truncated image: the JPEG data ends",
    );
    assert_issue(&failure, "images/garbage.png", "unreadable image");
    assert_eq!(failure.errors.len(), 3, "{:#?}", failure.errors);

    // A refused image's label file is not reported as an orphan on top.
    let entries = yolo_with(vec![
        entry("images/cut.png", &full_png[..full_png.len() - 20]),
        entry("labels/cut.txt", "0 0.5 0.5 0.1 0.1\n"),
    ]);
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
}

#[test]
fn annotation_naming_a_missing_image() {
    let entries = dice_with(
        dice_annotations(json!([{"image_id": "zzz", "class_id": 0, "bbox": [0, 0, 1, 1]}])),
        Vec::new(),
    );
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "annotations_detection.json",
        "annotation #0 names image 'zzz', which is not in \"images\"",
    );

    let entries = dice_with(
        json!({
            "classes": [],
            "images": [{"id": "ghost", "file_name": "ghost.png"}],
            "annotations": []
        }),
        Vec::new(),
    );
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "annotations_detection.json",
        "image 'ghost' names file images/ghost.png, which is not in the upload",
    );

    let entries = vec![
        entry(
            "instances_train.json",
            json!({"images": [{"id": 1, "file_name": "gone.jpg"}], "categories": [], "annotations": []})
                .to_string(),
        ),
        entry("train/a.png", png(10, 10, 1)),
    ];
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "instances_train.json",
        "names image file 'gone.jpg', which is not in the upload",
    );
}

#[test]
fn annotation_naming_a_missing_class() {
    let entries = dice_with(
        dice_annotations(json!([{"image_id": "a", "class_id": 5, "bbox": [0, 0, 1, 1]}])),
        Vec::new(),
    );
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "annotations_detection.json",
        "annotation #0 names class 5, which is not in \"classes\"",
    );

    let entries = yolo_with(vec![entry(
        "labels/a.txt",
        "0 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.1 0.1\n",
    )]);
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 2: class 9 is not in data.yaml `names`",
    );

    let entries = vec![
        entry(
            "instances_train.json",
            json!({
                "images": [{"id": 1, "file_name": "a.png"}],
                "categories": [{"id": 1, "name": "x"}],
                "annotations": [{"image_id": 1, "category_id": 42, "bbox": [0, 0, 1, 1]}]
            })
            .to_string(),
        ),
        entry("a.png", png(10, 10, 1)),
    ];
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "instances_train.json",
        "annotation #0 names category 42, which is not in \"categories\"",
    );
}

#[test]
fn malformed_yolo_lines_are_reported_with_their_line_number() {
    let entries = yolo_with(vec![entry(
        "labels/a.txt",
        "0 0.5 0.5 0.1 0.1\n0 0.5 0.5\n1 a 0.5 0.1 0.1\n1 1.5 0.5 0.1 0.1\n",
    )]);
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 2: expected `class cx cy w h` (5 values), found 3",
    );
    assert_issue(&failure, "labels/a.txt", "line 3: 'a' is not a number");
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 4: coordinates must be normalised to 0–1",
    );
    assert_eq!(failure.errors.len(), 3);
}

#[test]
fn malformed_annotation_files() {
    let entries = vec![
        entry("images/a.png", png(10, 10, 1)),
        entry("annotations.json", "{\"classes\": [,]}"),
    ];
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(&failure, "annotations.json", "malformed JSON");
    assert_issue(&failure, "annotations.json", "line 1 column");

    let entries = vec![
        entry("data.yaml", "names: [a, b\n  nc: : 3\n"),
        entry("images/a.png", png(10, 10, 1)),
    ];
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(&failure, "data.yaml", "malformed YAML");
}

#[test]
fn orphan_label_file() {
    let entries = yolo_with(vec![entry("labels/missing.txt", "0 0.5 0.5 0.1 0.1\n")]);
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(&failure, "labels/missing.txt", "no matching image");
}

#[test]
fn all_content_problems_are_reported_together() {
    let entries = dice_with(
        dice_annotations(json!([
            {"image_id": "a", "class_id": 3, "bbox": [0, 0, 1, 1]},
            {"image_id": "a", "class_id": 0}
        ])),
        vec![
            entry("images/notes.txt", "hi"),
            entry("images/broken.png", "not a png"),
        ],
    );
    let failure = expect_failure(import_entries(&entries, TaskType::Detection));
    assert_issue(&failure, "images/notes.txt", "not an image file");
    assert_issue(&failure, "images/broken.png", "unreadable image");
    assert_issue(
        &failure,
        "annotations_detection.json",
        "annotation #0 names class 3",
    );
    assert_issue(
        &failure,
        "annotations_detection.json",
        "annotation #1 a detection annotation needs a bbox",
    );
    assert_eq!(failure.errors.len(), 4);
    assert!(!failure.truncated);
}

#[test]
fn too_many_errors_are_truncated() {
    let bad_lines: String = (0..30).map(|_| "0 0.5\n").collect();
    let zip = zip_of(&yolo_with(vec![entry("labels/a.txt", bad_lines)]));
    let limits = Limits {
        max_errors: 5,
        ..Limits::default()
    };
    let failure = import_limited(&zip, &limits);
    assert_eq!(failure.errors.len(), 5);
    assert!(failure.truncated);
    assert_issue(&failure, "labels/a.txt", "line 5:");
    assert!(
        failure
            .to_string()
            .contains("and more than 4 more problems"),
        "{failure}"
    );
}

#[test]
fn failure_serialises_for_the_api() {
    let failure = import_zip_bytes(b"nope", TaskType::Detection);
    let value = serde_json::to_value(&failure).unwrap();
    assert_eq!(value["truncated"], json!(false));
    assert_eq!(value["errors"][0]["file"], json!(""));
}
