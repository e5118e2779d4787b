//! What the serving tests share: the reference trainer's model with fixed, varied weights,
//! its ONNX export, and test pictures.

#![expect(clippy::unwrap_used, reason = "tests")]

use image::{ImageFormat, Rgb, RgbImage};
use keynet_reference_trainer::dataset::ClassInfo;
use keynet_reference_trainer::model::SoftmaxModel;
use keynet_reference_trainer::{export, features};
use keynet_serving::BatchSettings;
use prost::Message;
use serde_json::Value;
use std::io::Cursor;
use std::time::Duration;

pub const SIDE: u32 = 16;

/// A trained-looking model: fixed, varied weights (the reference trainer starts from zeros).
pub fn reference_model() -> SoftmaxModel {
    let classes = ["cat", "dog", "bird", "fish"]
        .iter()
        .enumerate()
        .map(|(id, name)| ClassInfo {
            id: id as u32 * 10 + 1,
            name: name.to_string(),
        })
        .collect();
    let mut model = SoftmaxModel::new(classes, SIDE, 3);
    for (index, weight) in model.weights.iter_mut().enumerate() {
        *weight = ((index * 7919 % 1000) as f64 / 1000.0 - 0.5) * 0.4;
    }
    for (index, bias) in model.bias.iter_mut().enumerate() {
        *bias = index as f64 * 0.1 - 0.15;
    }
    model
}

pub fn export_of(model: &SoftmaxModel) -> (Vec<u8>, Value) {
    let onnx = export::build_model(model, "reference").encode_to_vec();
    (onnx, export::metadata(model))
}

/// A picture with structure in every channel, of a size the model has to resize.
pub fn picture(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            ((x * 255 / width + seed * 40) % 256) as u8,
            ((y * 255 / height + seed * 90) % 256) as u8,
            (((x + y) * 7 + seed * 13) % 256) as u8,
        ])
    })
}

pub fn encoded(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// The reference trainer's probabilities for an image file, as its inference job computes
/// them.
pub fn trainer_probabilities(model: &SoftmaxModel, bytes: &[u8], extension: &str) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("image.{extension}"));
    std::fs::write(&path, bytes).unwrap();
    let input = features::load_features(&path, model.image_size).unwrap();
    model.probabilities(&input)
}

/// A replica's batching on one thread.
pub fn batch_settings(
    max_batch_size: usize,
    max_queue_delay: Duration,
    max_queued: usize,
) -> BatchSettings {
    BatchSettings {
        max_batch_size,
        max_queue_delay,
        max_queued,
        threads: 1,
    }
}
