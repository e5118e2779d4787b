//! Training (and validation, the marketplace's compliance run, which is the same flow):
//! `started`, configuration and dataset `log`s, per epoch `progress` then `checkpoint`
//! (`last` always, `best` when the primary metric improves), then `completed`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::dataset::{self, Sample};
use crate::events::{EventSink, Level};
use crate::failure::Failure;
use crate::features;
use crate::model::SoftmaxModel;
use crate::rng::SplitMix64;

pub const METRICS: [&str; 4] = ["loss", "accuracy", "val_loss", "val_accuracy"];
pub const DEFAULT_PRIMARY_METRIC: &str = "val_accuracy";
pub const BEST_FILE: &str = "best.json";
pub const LAST_FILE: &str = "last.json";

pub fn run(config: &Config, sink: &mut EventSink) -> Result<(), Failure> {
    let seed = config.hyper_u64("seed", 0)?;
    let sleep_ms = config.hyper_u64("sleep_ms_per_epoch", 0)?;
    sink.emit("started", json!({ "total_epochs": config.epochs }))?;

    let imgsz = features::effective_imgsz(config.imgsz);
    sink.log(
        Level::Info,
        &format!(
            "{} job {}: {} epochs, batch {}, learning rate {}, {imgsz}x{imgsz} RGB input, seed {seed}",
            config.job_kind.as_str(),
            config.job_id,
            config.epochs,
            config.batch_size,
            config.learning_rate
        ),
        Some(json!({
            "model_name": config.model_name,
            "dataset_id": config.dataset_id,
            "sources": config.sources,
            "hyperparameters": config.hyperparameters,
        })),
    )?;
    if imgsz != config.imgsz {
        sink.log(
            Level::Warning,
            &format!(
                "IMGSZ {} is outside {}..={}, using {imgsz}",
                config.imgsz,
                features::MIN_IMGSZ,
                features::MAX_IMGSZ
            ),
            None,
        )?;
    }
    if !matches!(
        config.device.to_ascii_lowercase().as_str(),
        "" | "cpu" | "auto"
    ) {
        sink.log(
            Level::Warning,
            &format!(
                "device {:?} requested; this trainer runs on the CPU",
                config.device
            ),
            None,
        )?;
    }
    let primary = primary_metric(config, sink)?;

    let dataset = dataset::load(&config.input_dir.join("dataset"), &config.task_type)?;
    sink.log(
        Level::Info,
        &format!(
            "dataset {}: {} classes, {} training and {} validation images",
            dataset.annotations_file,
            dataset.classes.len(),
            dataset.train.len(),
            dataset.val.len()
        ),
        Some(json!({ "classes": dataset.classes })),
    )?;
    for note in &dataset.notes {
        sink.log(Level::Warning, note, None)?;
    }
    let (train_x, train_y) = load_split(&dataset.train, imgsz)?;
    let (val_x, val_y) = load_split(&dataset.val, imgsz)?;

    std::fs::create_dir_all(&config.output_dir).map_err(|error| {
        Failure::io(format!(
            "cannot create {}: {error}",
            config.output_dir.display()
        ))
    })?;
    let mut model = SoftmaxModel::new(dataset.classes.clone(), imgsz, features::CHANNELS);
    let mut rng = SplitMix64::new(seed);
    let mut best: Option<(u32, f64)> = None;
    let mut final_metrics = BTreeMap::new();
    for epoch in 1..=config.epochs {
        let train = model.train_epoch(
            &train_x,
            &train_y,
            config.batch_size as usize,
            config.learning_rate,
            &mut rng,
        );
        let val = model.evaluate(&val_x, &val_y);
        let metrics = BTreeMap::from([
            ("loss".to_string(), train.loss),
            ("accuracy".to_string(), train.accuracy),
            ("val_loss".to_string(), val.loss),
            ("val_accuracy".to_string(), val.accuracy),
        ]);
        sink.emit(
            "progress",
            json!({ "epoch": epoch, "total_epochs": config.epochs, "metrics": metrics }),
        )?;
        let checkpoint = Checkpoint {
            format: checkpoint::FORMAT.into(),
            model_name: config.model_name.clone(),
            job_id: config.job_id.clone(),
            epoch,
            metrics: metrics.clone(),
            model: model.clone(),
        };
        save(config, sink, &checkpoint, LAST_FILE, "last")?;
        let value = metrics.get(primary).copied().unwrap_or(f64::NAN);
        if best.is_none_or(|(_, best_value)| improves(primary, value, best_value)) {
            best = Some((epoch, value));
            save(config, sink, &checkpoint, BEST_FILE, "best")?;
        }
        final_metrics = metrics;
        if sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(sleep_ms));
        }
    }

    let (best_epoch, best_value) = best.unwrap_or((0, f64::NAN));
    sink.log(
        Level::Info,
        &format!("finished: best {primary} {best_value:.4} at epoch {best_epoch}"),
        None,
    )?;
    sink.emit(
        "completed",
        json!({
            "best_epoch": best_epoch,
            "best_metric": primary,
            "best_metric_value": best_value,
            "final_metrics": final_metrics,
        }),
    )?;
    Ok(())
}

/// `CONFIG.primary_metric` when it names one of this trainer's metrics.
fn primary_metric(config: &Config, sink: &mut EventSink) -> Result<&'static str, Failure> {
    let Some(wanted) = config.primary_metric.as_deref() else {
        return Ok(DEFAULT_PRIMARY_METRIC);
    };
    if let Some(metric) = METRICS.iter().find(|metric| **metric == wanted) {
        return Ok(metric);
    }
    sink.log(
        Level::Warning,
        &format!(
            "primary metric {wanted:?} is not one of {METRICS:?}; using {DEFAULT_PRIMARY_METRIC}"
        ),
        None,
    )?;
    Ok(DEFAULT_PRIMARY_METRIC)
}

/// Losses improve downwards, accuracies upwards; a tie keeps the earlier epoch.
fn improves(metric: &str, candidate: f64, best: f64) -> bool {
    if metric.ends_with("loss") {
        candidate < best
    } else {
        candidate > best
    }
}

fn save(
    config: &Config,
    sink: &mut EventSink,
    checkpoint: &Checkpoint,
    file: &str,
    kind: &str,
) -> Result<(), Failure> {
    checkpoint.save(&config.output_dir.join(file))?;
    sink.emit(
        "checkpoint",
        json!({ "path": file, "type": kind, "epoch": checkpoint.epoch, "metrics": checkpoint.metrics }),
    )?;
    Ok(())
}

fn load_split(samples: &[Sample], imgsz: u32) -> Result<(Vec<Vec<f64>>, Vec<usize>), Failure> {
    let mut inputs = Vec::with_capacity(samples.len());
    for sample in samples {
        let input = features::load_features(&sample.path, imgsz).map_err(|error| {
            Failure::dataset(format!(
                "cannot read image images/{} (image {}): {error}",
                sample.file_name, sample.image_id
            ))
        })?;
        inputs.push(input);
    }
    Ok((inputs, samples.iter().map(|sample| sample.label).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_improve_downwards_accuracies_upwards() {
        assert!(improves("val_loss", 0.1, 0.2));
        assert!(!improves("val_loss", 0.2, 0.2));
        assert!(improves("val_accuracy", 0.9, 0.8));
        assert!(!improves("accuracy", 0.8, 0.8));
    }
}
