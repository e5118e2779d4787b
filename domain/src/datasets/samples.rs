//! A page of a dataset's images with their labels, for people to look at: each image with a
//! signed URL to show it, its split and its classes (with boxes, for detection).

use super::import::blob_key;
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::ids::DatasetId;
use crate::viewer::Viewer;
use std::collections::HashMap;

/// The most images one page holds.
pub const MAX_SAMPLES: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitName {
    Train,
    Val,
    Test,
}

pub struct Samples {
    /// Images that match, on every page.
    pub total: usize,
    pub samples: Vec<Sample>,
}

pub struct Sample {
    pub image_id: String,
    /// The path in the dataset (under `images/` in the DICE layout).
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    /// None for an image no split holds.
    pub split: Option<SplitName>,
    /// Valid for the domain's signed-URL lifetime (an hour).
    pub url: String,
    pub labels: Vec<SampleLabel>,
}

pub struct SampleLabel {
    pub class_id: u32,
    pub class_name: String,
    /// `[x, y, width, height]` in the image's pixels (detection and segmentation).
    pub bbox: Option<[f64; 4]>,
}

impl Domain {
    /// The images of the dataset's current content from `offset` (in import order), at
    /// most `limit` (1 to [`MAX_SAMPLES`]), of one split or all.
    pub async fn dataset_samples(
        &self,
        viewer: &Viewer,
        id: DatasetId,
        split: Option<SplitName>,
        offset: usize,
        limit: usize,
    ) -> Result<Samples> {
        if !(1..=MAX_SAMPLES).contains(&limit) {
            return Err(Error::invalid(
                "first",
                format!("must be between 1 and {MAX_SAMPLES}"),
            ));
        }
        let dataset = self.dataset(viewer, id).await?;
        let Some(manifest_key) = &dataset.manifest_key else {
            return Ok(Samples {
                total: 0,
                samples: Vec::new(),
            });
        };
        let manifest = self.read_manifest(manifest_key).await?;
        let splits: HashMap<&str, SplitName> = [
            (&manifest.splits.train, SplitName::Train),
            (&manifest.splits.val, SplitName::Val),
            (&manifest.splits.test, SplitName::Test),
        ]
        .into_iter()
        .flat_map(|(ids, name)| ids.iter().map(move |id| (id.as_str(), name)))
        .collect();
        let classes: HashMap<u32, &str> = manifest
            .annotations
            .classes
            .iter()
            .map(|class| (class.id, class.name.as_str()))
            .collect();
        let mut labels: HashMap<&str, Vec<SampleLabel>> = HashMap::new();
        for annotation in &manifest.annotations.annotations {
            labels
                .entry(annotation.image_id.as_str())
                .or_default()
                .push(SampleLabel {
                    class_id: annotation.class_id,
                    class_name: classes
                        .get(&annotation.class_id)
                        .map_or_else(|| annotation.class_id.to_string(), |name| name.to_string()),
                    bbox: annotation.bbox,
                });
        }
        let matching: Vec<_> = manifest
            .images
            .iter()
            .filter(|image| split.is_none() || splits.get(image.id.as_str()).copied() == split)
            .collect();
        let mut samples = Vec::new();
        for image in matching.iter().skip(offset).take(limit) {
            let download_name = image.file_name.rsplit('/').next();
            let url = self
                .blobs
                .download_url(
                    &blob_key(dataset.org_id, &image.sha256),
                    self.config.signed_url_ttl,
                    download_name,
                )
                .await
                .map_err(Error::storage)?;
            samples.push(Sample {
                image_id: image.id.clone(),
                file_name: image.file_name.clone(),
                width: image.width,
                height: image.height,
                split: splits.get(image.id.as_str()).copied(),
                url,
                labels: labels.remove(image.id.as_str()).unwrap_or_default(),
            });
        }
        Ok(Samples {
            total: matching.len(),
            samples,
        })
    }
}
