//! Randomly damaged uploads: whatever the bytes, the import returns (never panics) and
//! writes nothing outside its work folder. Fixed seed, so a failure reproduces.

mod common;

use common::{Entries, Sandbox, entry, jpeg, png, zip_of};
use keynet_datasets::TaskType;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROUNDS: usize = 600;

/// One valid upload per format, wrapped in a top folder like real zips often are.
fn valid_uploads() -> Vec<Entries> {
    let yolo = vec![
        entry(
            "ds/data.yaml",
            "names: [cat, dog]\ntrain: images/train\nkpt_shape: [1, 3]\n",
        ),
        entry("ds/images/train/a.png", png(16, 12, 1)),
        entry(
            "ds/labels/train/a.txt",
            "0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.1 0.1 0.2 0.2 0.3\n",
        ),
        entry("ds/images/val/b.jpg", jpeg(20, 10, 2)),
        entry("ds/labels/val/b.txt", "1 0.5 0.5 1 1\n"),
    ];
    let coco = vec![
        entry(
            "annotations/instances_train2017.json",
            r#"{"images": [{"id": 1, "file_name": "a.png"}],
                "categories": [{"id": 5, "name": "x"}],
                "annotations": [{"image_id": 1, "category_id": 5, "bbox": [1, 1, 2, 2],
                                 "segmentation": [[1, 1, 3, 1, 3, 3]], "keypoints": [1, 1, 2]}]}"#,
        ),
        entry("train2017/a.png", png(8, 8, 3)),
    ];
    let dice = vec![
        entry("images/a.png", png(9, 7, 4)),
        entry(
            "annotations.json",
            r#"{"classes": [{"id": 0, "name": "x"}],
                "images": [{"id": 1, "file_name": "a.png", "split": "val"}],
                "annotations": [{"image_id": 1, "class_id": 0, "bbox": [0, 0, 1, 1],
                                 "segmentation": {"counts": "abc", "size": [7, 9]}, "keypoints": [1, 1, 2]}]}"#,
        ),
        entry("splits.json", r#"{"train": [1]}"#),
    ];
    let image_folder = vec![
        entry("train/cat/a.png", png(6, 6, 5)),
        entry("val/dog/b.jpg", jpeg(6, 6, 6)),
    ];
    vec![yolo, coco, dice, image_folder]
}

fn damage(bytes: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    if bytes.is_empty() {
        return;
    }
    match rng.gen_range(0..4) {
        // Flip a few bytes anywhere.
        0 | 1 => {
            for _ in 0..rng.gen_range(1..=8) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = rng.r#gen();
            }
        }
        // Cut it short.
        2 => bytes.truncate(rng.gen_range(0..bytes.len())),
        // Overwrite a run with 0xFF (huge sizes and counts in headers).
        _ => {
            let at = rng.gen_range(0..bytes.len());
            let end = (at + rng.gen_range(1..16)).min(bytes.len());
            bytes[at..end].fill(0xFF);
        }
    }
}

#[test]
fn damaged_uploads_never_panic_nor_escape_the_work_folder() {
    let uploads = valid_uploads();
    let tasks = [
        TaskType::Classification,
        TaskType::Detection,
        TaskType::Segmentation,
        TaskType::Pose,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0x6b65_796e_6574);
    for round in 0..ROUNDS {
        let mut entries = uploads[round % uploads.len()].clone();
        let zip = if rng.r#gen::<bool>() {
            // Damage the archive's bytes: exercises the zip reader and the limits.
            let mut zip = zip_of(&entries);
            damage(&mut zip, &mut rng);
            zip
        } else {
            // Damage one file inside a sound archive: exercises the format readers.
            if let Some((_, content)) = entries.choose_mut(&mut rng) {
                damage(content, &mut rng);
            }
            zip_of(&entries)
        };
        let task = tasks[rng.gen_range(0..tasks.len())];
        // `import` itself asserts containment, and clean-up after a failure.
        if let Err(failure) = Sandbox::new(&zip).import(task) {
            assert!(
                !failure.errors.is_empty(),
                "round {round}: a failure without issues"
            );
        }
    }
}
