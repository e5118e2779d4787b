//! The manifest: a dataset's content as one JSON document, stored content-addressed like
//! any file. Images are named by their hash, so versions share unchanged files.

use keynet_datasets::{DiceAnnotations, Format, Imported, Splits, Statistics, TaskType};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: Format,
    pub task: TaskType,
    pub images: Vec<ManifestImage>,
    pub annotations: DiceAnnotations,
    pub splits: Splits,
    /// Images whose split the upload gave; a snapshot with its own split configuration
    /// divides only the others again.
    #[serde(default)]
    pub given_split: Vec<String>,
    pub statistics: Statistics,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ManifestImage {
    pub id: String,
    /// The path under `images/` in the DICE layout.
    pub file_name: String,
    pub sha256: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

impl Manifest {
    pub fn of(imported: &Imported) -> Self {
        Self {
            format: imported.format,
            task: imported.task,
            images: imported
                .images
                .iter()
                .map(|i| ManifestImage {
                    id: i.id.clone(),
                    file_name: i.file_name.clone(),
                    sha256: i.sha256.clone(),
                    size: i.size,
                    width: i.width,
                    height: i.height,
                })
                .collect(),
            annotations: imported.annotations.clone(),
            splits: imported.splits.clone(),
            given_split: imported.given_split.clone(),
            statistics: imported.statistics.clone(),
        }
    }
}
