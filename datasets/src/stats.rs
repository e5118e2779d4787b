//! Figures shown with an imported dataset.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::annotations::DiceAnnotations;
use crate::model::ImageFile;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub images: u64,
    pub classes: u64,
    pub annotations: u64,
    /// Class name → number of annotations (every class listed, with 0 if unused).
    pub annotations_per_class: BTreeMap<String, u64>,
    pub width: DimensionStats,
    pub height: DimensionStats,
    pub images_without_labels: u64,
    /// Image ids whose files have identical content, one group per content hash.
    pub duplicate_groups: Vec<Vec<String>>,
    /// Bytes of all images.
    pub total_bytes: u64,
}

/// Smallest, largest and mean of a dimension in pixels (all 0 without images).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DimensionStats {
    pub min: u32,
    pub max: u32,
    pub mean: f64,
}

impl DimensionStats {
    fn of(values: impl Iterator<Item = u32> + Clone) -> Self {
        let count = values.clone().count();
        if count == 0 {
            return Self::default();
        }
        let sum: f64 = values.clone().map(f64::from).sum();
        Self {
            min: values.clone().min().unwrap_or(0),
            max: values.max().unwrap_or(0),
            mean: sum / count as f64,
        }
    }
}

pub(crate) fn compute(images: &[ImageFile], annotations: &DiceAnnotations) -> Statistics {
    let class_names: BTreeMap<u32, &str> = annotations
        .classes
        .iter()
        .map(|class| (class.id, class.name.as_str()))
        .collect();
    let mut annotations_per_class: BTreeMap<String, u64> = class_names
        .values()
        .map(|name| ((*name).to_owned(), 0))
        .collect();
    let mut labelled: BTreeSet<&str> = BTreeSet::new();
    for annotation in &annotations.annotations {
        labelled.insert(annotation.image_id.as_str());
        if let Some(name) = class_names.get(&annotation.class_id) {
            *annotations_per_class.entry((*name).to_owned()).or_default() += 1;
        }
    }

    let mut by_hash: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for image in images {
        by_hash
            .entry(image.sha256.as_str())
            .or_default()
            .push(image.id.clone());
    }
    let mut duplicate_groups: Vec<Vec<String>> = by_hash
        .into_values()
        .filter(|ids| ids.len() > 1)
        .map(|mut ids| {
            ids.sort_unstable();
            ids
        })
        .collect();
    duplicate_groups.sort_unstable();

    Statistics {
        images: images.len() as u64,
        classes: annotations.classes.len() as u64,
        annotations: annotations.annotations.len() as u64,
        annotations_per_class,
        width: DimensionStats::of(images.iter().map(|image| image.width)),
        height: DimensionStats::of(images.iter().map(|image| image.height)),
        images_without_labels: images
            .iter()
            .filter(|image| !labelled.contains(image.id.as_str()))
            .count() as u64,
        duplicate_groups,
        total_bytes: images.iter().map(|image| image.size).sum(),
    }
}
