//! A page of a dataset's images with their labels (`Dataset.samples`).

use super::enums::DatasetSplit;
use async_graphql::SimpleObject;
use keynet_domain::datasets::{Sample, SampleLabel, Samples};

#[derive(SimpleObject)]
pub struct DatasetSamples {
    /// Images that match (of the split asked for), on every page.
    pub total: i32,
    pub nodes: Vec<DatasetSample>,
}

#[derive(SimpleObject)]
pub struct DatasetSample {
    pub image_id: String,
    /// Its path in the dataset.
    pub file_name: String,
    pub width: i32,
    pub height: i32,
    /// Null for an image no split holds.
    pub split: Option<DatasetSplit>,
    /// Shows the image; works for an hour.
    pub url: String,
    pub labels: Vec<DatasetSampleLabel>,
}

#[derive(SimpleObject)]
pub struct DatasetSampleLabel {
    pub class_id: i32,
    pub class_name: String,
    /// `[x, y, width, height]` in the image's pixels, from its top-left corner (detection and
    /// segmentation labels).
    pub bbox: Option<Vec<f64>>,
}

impl From<Samples> for DatasetSamples {
    fn from(samples: Samples) -> Self {
        Self {
            total: saturating(samples.total),
            nodes: samples.samples.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Sample> for DatasetSample {
    fn from(sample: Sample) -> Self {
        Self {
            image_id: sample.image_id,
            file_name: sample.file_name,
            width: saturating(sample.width as usize),
            height: saturating(sample.height as usize),
            split: sample.split.map(Into::into),
            url: sample.url,
            labels: sample.labels.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<SampleLabel> for DatasetSampleLabel {
    fn from(label: SampleLabel) -> Self {
        Self {
            class_id: saturating(label.class_id as usize),
            class_name: label.class_name,
            bbox: label.bbox.map(Vec::from),
        }
    }
}

fn saturating(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
