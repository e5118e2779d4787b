//! The vocabulary of an import: tasks, formats and the imported result.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::annotations::DiceAnnotations;
use crate::splits::{SplitSource, Splits};
use crate::stats::Statistics;

/// The vision task a dataset is imported for; it chooses the DICE annotation file and
/// which labels are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    Classification,
    Detection,
    Segmentation,
    Pose,
}

impl TaskType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classification => "classification",
            Self::Detection => "detection",
            Self::Segmentation => "segmentation",
            Self::Pose => "pose",
        }
    }

    /// `annotations_<task>.json`, the DICE file a trainer reads for this task.
    pub fn annotations_file_name(self) -> String {
        format!("annotations_{}.json", self.as_str())
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layout the upload was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Dice,
    Coco,
    Yolo,
    ImageFolder,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dice => "DICE",
            Self::Coco => "COCO",
            Self::Yolo => "YOLO",
            Self::ImageFolder => "ImageFolder",
        })
    }
}

/// An image of the imported dataset, unpacked in the work folder, to be stored at
/// `images/<file_name>` of the DICE layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFile {
    /// The DICE image id: the id given by a DICE upload, else `file_name` (stable for a
    /// given upload, unique, and readable in error messages).
    pub id: String,
    /// Path under `images/`, `/`-separated.
    pub file_name: String,
    /// The unpacked file, inside the work folder.
    pub source_path: PathBuf,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

/// A validated upload, converted to DICE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub format: Format,
    pub task: TaskType,
    /// Sorted by `file_name`; the same order as `annotations.images`.
    pub images: Vec<ImageFile>,
    /// The content of `annotations_<task>.json`.
    pub annotations: DiceAnnotations,
    /// The content of `splits.json`.
    pub splits: Splits,
    pub split_source: SplitSource,
    /// Images whose split the upload gave (annotations or folders); the others were
    /// assigned by ratio and may be divided again (see [`crate::resplit`]).
    pub given_split: Vec<String>,
    pub statistics: Statistics,
}
