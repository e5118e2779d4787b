//! The DICE annotation file (`annotations_<task>.json`) as serde types: what every import
//! produces, whatever format was uploaded. See the trainer contract, "Dataset layout".

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiceAnnotations {
    pub classes: Vec<DiceClass>,
    pub images: Vec<DiceImage>,
    pub annotations: Vec<DiceAnnotation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiceClass {
    pub id: u32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiceImage {
    pub id: String,
    /// Path under `images/`, `/`-separated.
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

/// One label on one image. Classification labels carry only the class; detection a
/// `bbox`; segmentation a `segmentation` (and the enclosing `bbox`); pose `keypoints`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiceAnnotation {
    pub image_id: String,
    pub class_id: u32,
    /// `[x, y, width, height]` in pixels, from the top-left corner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Segmentation>,
    /// Flat `[x1, y1, v1, x2, y2, v2, …]` in pixels, COCO-style visibility
    /// (0 not labelled, 1 labelled but hidden, 2 visible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypoints: Option<Vec<f64>>,
}

/// A region, as COCO writes it: polygons `[[x1, y1, x2, y2, …], …]` in pixels, or a
/// run-length-encoded mask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segmentation {
    Polygons(Vec<Vec<f64>>),
    Rle(RleMask),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RleMask {
    pub counts: RleCounts,
    /// `[height, width]`, as COCO orders it.
    pub size: [u32; 2],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RleCounts {
    Runs(Vec<u64>),
    Compressed(String),
}
