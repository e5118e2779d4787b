//! What every format converter produces, and the checks they share.

use std::fmt;
use std::fs;

use serde::Deserialize;

use crate::annotations::{DiceAnnotation, DiceClass, Segmentation};
use crate::archive::ExtractedFile;
use crate::image_check::{Dimensions, IMAGE_EXTENSIONS};
use crate::issues::IssueLog;
use crate::model::TaskType;
use crate::splits::Split;

/// A format's content in DICE terms, before splits and statistics.
#[derive(Debug, Default)]
pub(crate) struct Conversion<'a> {
    pub classes: Vec<DiceClass>,
    pub images: Vec<ConvertedImage<'a>>,
    pub annotations: Vec<DiceAnnotation>,
}

#[derive(Debug)]
pub(crate) struct ConvertedImage<'a> {
    pub id: String,
    /// Path under `images/` in the DICE layout.
    pub file_name: String,
    pub file: &'a ExtractedFile,
    pub dimensions: Dimensions,
    pub split_from_annotations: Option<Split>,
    pub split_from_folder: Option<Split>,
}

/// The image's dimensions, or why it cannot be part of a dataset.
pub(crate) fn usable_image(file: &ExtractedFile) -> Result<Dimensions, String> {
    match &file.image {
        Some(Ok(dimensions)) => Ok(*dimensions),
        Some(Err(reason)) => Err(reason.clone()),
        None => Err(format!(
            "not an image file (expected one of: {})",
            IMAGE_EXTENSIONS.join(", ")
        )),
    }
}

/// An id as annotation files write it: a number or a string.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(untagged)]
pub(crate) enum JsonId {
    Number(i64),
    Text(String),
}

impl fmt::Display for JsonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// Reads a (small) annotation file as text; `None` after logging why it could not be.
pub(crate) fn read_text(file: &ExtractedFile, issues: &mut IssueLog) -> Option<String> {
    match fs::read(&file.disk_path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                issues.push(&file.archive_path, "not a UTF-8 text file");
                None
            }
        },
        Err(error) => {
            issues.push(&file.archive_path, format!("cannot read the file: {error}"));
            None
        }
    }
}

/// Parses a JSON annotation file; `None` after logging where it is malformed.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    file: &ExtractedFile,
    issues: &mut IssueLog,
) -> Option<T> {
    let text = read_text(file, issues)?;
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            issues.push(&file.archive_path, format!("malformed JSON: {error}"));
            None
        }
    }
}

/// Checks that an annotation carries what the task needs and that its geometry is sane.
pub(crate) fn check_annotation(annotation: &DiceAnnotation, task: TaskType) -> Result<(), String> {
    if let Some(bbox) = annotation.bbox
        && (bbox.iter().any(|value| !value.is_finite()) || bbox[2] < 0.0 || bbox[3] < 0.0)
    {
        return Err(format!(
            "bbox {bbox:?} is not [x, y, width, height] with finite numbers and non-negative size"
        ));
    }
    if let Some(Segmentation::Polygons(polygons)) = &annotation.segmentation {
        for polygon in polygons {
            if polygon.len() < 6 || polygon.len() % 2 != 0 {
                return Err(format!(
                    "a segmentation polygon needs at least 3 x, y points; found {} numbers",
                    polygon.len()
                ));
            }
            if polygon.iter().any(|value| !value.is_finite()) {
                return Err("a segmentation polygon holds a non-finite number".to_owned());
            }
        }
    }
    if let Some(keypoints) = &annotation.keypoints
        && (keypoints.len() % 3 != 0 || keypoints.iter().any(|value| !value.is_finite()))
    {
        return Err(format!(
            "keypoints must be finite [x, y, visibility] triples; found {} numbers",
            keypoints.len()
        ));
    }
    let missing = match task {
        TaskType::Classification => None,
        TaskType::Detection => annotation.bbox.is_none().then_some("a bbox"),
        TaskType::Segmentation => annotation
            .segmentation
            .is_none()
            .then_some("a segmentation"),
        TaskType::Pose => annotation.keypoints.is_none().then_some("keypoints"),
    };
    match missing {
        Some(what) => Err(format!("a {task} annotation needs {what}")),
        None => Ok(()),
    }
}

/// Rounds a pixel coordinate to 1/10000 px: far below labelling precision, and it keeps
/// float noise like `31.999999999999996` out of the DICE file.
pub(crate) fn round_px(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// `[x, y, width, height]` enclosing a flat `[x1, y1, x2, y2, …]` polygon.
pub(crate) fn polygon_bbox(polygon: &[f64]) -> Option<[f64; 4]> {
    let xs = polygon.iter().step_by(2);
    let ys = polygon.iter().skip(1).step_by(2);
    let (min_x, max_x) = min_max(xs)?;
    let (min_y, max_y) = min_max(ys)?;
    Some([
        min_x,
        min_y,
        round_px(max_x - min_x),
        round_px(max_y - min_y),
    ])
}

fn min_max<'a>(values: impl Iterator<Item = &'a f64>) -> Option<(f64, f64)> {
    values.fold(None, |range, &value| match range {
        None => Some((value, value)),
        Some((low, high)) => Some((low.min(value), high.max(value))),
    })
}
