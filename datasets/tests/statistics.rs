//! Statistics of an imported dataset.

mod common;

use common::{entry, expect_success, import_entries, png};
use keynet_datasets::{DimensionStats, TaskType};

#[test]
fn statistics_count_classes_labels_sizes_and_duplicates() {
    let same = png(10, 20, 1);
    let entries = vec![
        entry("data.yaml", "names: [cat, dog, bird]\n"),
        entry("images/a.png", same.clone()),
        entry("images/b.png", same.clone()),
        entry("images/sub/c.png", same.clone()),
        entry("images/d.png", png(30, 40, 2)),
        entry("images/e.png", png(30, 40, 2)),
        entry("images/f.png", png(50, 60, 3)),
        entry(
            "labels/a.txt",
            "0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.3 0.3\n",
        ),
        entry("labels/d.txt", "1 0.5 0.5 0.1 0.1\n"),
        // An empty label file: the image has no labels.
        entry("labels/f.txt", ""),
    ];
    let imported = expect_success(import_entries(&entries, TaskType::Detection));
    let stats = &imported.statistics;
    assert_eq!(stats.images, 6);
    assert_eq!(stats.classes, 3);
    assert_eq!(stats.annotations, 4);
    assert_eq!(
        stats
            .annotations_per_class
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("bird", 0), ("cat", 2), ("dog", 2)]
    );
    assert_eq!(stats.images_without_labels, 4);
    assert_eq!(
        stats.duplicate_groups,
        [vec!["a.png", "b.png", "sub/c.png"], vec!["d.png", "e.png"]]
    );
    assert_eq!(
        stats.width,
        DimensionStats {
            min: 10,
            max: 50,
            mean: (10.0 * 3.0 + 30.0 * 2.0 + 50.0) / 6.0
        }
    );
    assert_eq!(stats.height.min, 20);
    assert_eq!(stats.height.max, 60);
    let expected_bytes = same.len() * 3 + png(30, 40, 2).len() * 2 + png(50, 60, 3).len();
    assert_eq!(stats.total_bytes, expected_bytes as u64);
    let hashes: Vec<&str> = imported
        .images
        .iter()
        .map(|image| image.sha256.as_str())
        .collect();
    assert_eq!(hashes[0], hashes[1]);
    assert_ne!(hashes[0], hashes[3]);
}
