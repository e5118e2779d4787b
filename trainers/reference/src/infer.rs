//! Inference jobs: the input checkpoint applied to every image under
//! `<input>/dataset/images/` (or `<input>/images/`), top-k classes per image written to
//! `predictions.json`, then `inference_completed`.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::events::{EventSink, Level};
use crate::failure::Failure;
use crate::features;

pub const RESULTS_FILE: &str = "predictions.json";
pub const DEFAULT_TOP_K: u64 = 5;

#[derive(Debug, Serialize)]
pub struct ImagePredictions {
    pub file_name: String,
    pub predictions: Vec<Prediction>,
    /// Only for an image that could not be read (its predictions are then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Prediction {
    pub class_id: u32,
    pub class_name: String,
    pub score: f64,
}

pub fn run(config: &Config, sink: &mut EventSink) -> Result<(), Failure> {
    let top_k = config.hyper_u64("top_k", DEFAULT_TOP_K)?.max(1);
    let path = checkpoint::find_input_checkpoint(&config.input_dir)?;
    let checkpoint = Checkpoint::load(&path)?;
    let model = &checkpoint.model;
    let images_dir = images_folder(config)?;
    let images = features::list_images(&images_dir).map_err(|error| {
        Failure::dataset(format!("cannot list {}: {error}", images_dir.display()))
    })?;
    if images.is_empty() {
        return Err(Failure::dataset(format!(
            "no image files under {}",
            images_dir.display()
        )));
    }
    sink.log(
        Level::Info,
        &format!(
            "predicting {} images from {} with {} (epoch {})",
            images.len(),
            images_dir.display(),
            path.display(),
            checkpoint.epoch
        ),
        None,
    )?;

    let mut results = Vec::with_capacity(images.len());
    let mut unreadable = 0usize;
    for (file_name, path) in images {
        let entry = match features::load_features(&path, model.image_size) {
            Ok(input) => {
                let probabilities = model.probabilities(&input);
                let mut ranked: Vec<usize> = (0..probabilities.len()).collect();
                // Stable sort: equal scores keep class order, so output is reproducible.
                ranked.sort_by(|a, b| probabilities[*b].total_cmp(&probabilities[*a]));
                let predictions = ranked
                    .into_iter()
                    .take(top_k as usize)
                    .map(|index| Prediction {
                        class_id: model.classes[index].id,
                        class_name: model.classes[index].name.clone(),
                        score: probabilities[index],
                    })
                    .collect();
                ImagePredictions {
                    file_name,
                    predictions,
                    error: None,
                }
            }
            Err(error) => {
                unreadable += 1;
                sink.log(
                    Level::Warning,
                    &format!("cannot read {file_name}: {error}"),
                    None,
                )?;
                ImagePredictions {
                    file_name,
                    predictions: Vec::new(),
                    error: Some(error),
                }
            }
        };
        results.push(entry);
    }

    std::fs::create_dir_all(&config.output_dir).map_err(|error| {
        Failure::io(format!(
            "cannot create {}: {error}",
            config.output_dir.display()
        ))
    })?;
    let bytes = serde_json::to_vec_pretty(&results)
        .map_err(|error| Failure::io(format!("cannot encode predictions: {error}")))?;
    checkpoint::write_atomically(&config.output_dir.join(RESULTS_FILE), &bytes)?;
    sink.log(
        Level::Info,
        &format!(
            "wrote {} predictions ({unreadable} unreadable images)",
            results.len()
        ),
        None,
    )?;
    sink.emit(
        "inference_completed",
        json!({ "results_path": RESULTS_FILE }),
    )?;
    Ok(())
}

/// DICE layout first (`dataset/images`), then a plain `images/` folder.
fn images_folder(config: &Config) -> Result<PathBuf, Failure> {
    let candidates = [
        config.input_dir.join("dataset").join("images"),
        config.input_dir.join("images"),
    ];
    candidates
        .iter()
        .find(|dir| dir.is_dir())
        .cloned()
        .ok_or_else(|| {
            Failure::dataset(format!(
                "no images to predict: neither {} nor {} exists",
                candidates[0].display(),
                candidates[1].display()
            ))
        })
}
