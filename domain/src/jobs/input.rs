//! Checks of what a user asks a job to run with. Every refusal names its input field.

use crate::entities::jobs::{JobConfig, Resources};
use crate::error::{Error, Result};
use serde_json::Value;

const MAX_ADVANCED_CONFIG_BYTES: usize = 64 * 1024;
pub const DEFAULT_MAX_RUNTIME_SECONDS: i32 = 24 * 3600;
const MAX_RUNTIME_SECONDS: i32 = 7 * 24 * 3600;

/// The basic configuration as given; missing values take the platform's defaults.
#[derive(Default)]
pub struct ConfigInput {
    pub epochs: Option<i32>,
    pub batch_size: Option<i32>,
    pub learning_rate: Option<f64>,
    pub imgsz: Option<i32>,
    pub device: Option<String>,
}

#[derive(Default)]
pub struct ResourcesInput {
    pub gpus: Option<i32>,
    pub cpus: Option<f64>,
    pub memory_mb: Option<i64>,
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &'static str,
    value: T,
    low: T,
    high: T,
) -> Result<T> {
    if value < low || value > high {
        return Err(Error::invalid(
            field,
            format!("must be between {low} and {high}"),
        ));
    }
    Ok(value)
}

pub fn config(input: ConfigInput) -> Result<JobConfig> {
    let learning_rate = input.learning_rate.unwrap_or(0.001);
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= 10.0) {
        return Err(Error::invalid(
            "config.learningRate",
            "must be a number above 0 and at most 10",
        ));
    }
    let device = input
        .device
        .unwrap_or_else(|| "cpu".into())
        .trim()
        .to_ascii_lowercase();
    let device_ok = !device.is_empty()
        && device.len() <= 32
        && device
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == ',');
    if !device_ok {
        return Err(Error::invalid(
            "config.device",
            "a device such as cpu, cuda, cuda:0, 0,1 or mps",
        ));
    }
    Ok(JobConfig {
        epochs: in_range("config.epochs", input.epochs.unwrap_or(10), 1, 10_000)?,
        batch_size: in_range(
            "config.batchSize",
            input.batch_size.unwrap_or(16),
            1,
            65_536,
        )?,
        learning_rate,
        imgsz: in_range("config.imgsz", input.imgsz.unwrap_or(640), 16, 8192)?,
        device,
    })
}

pub fn resources(input: ResourcesInput) -> Result<Resources> {
    let cpus = input.cpus.unwrap_or(1.0);
    if !(cpus.is_finite() && (0.1..=64.0).contains(&cpus)) {
        return Err(Error::invalid(
            "resources.cpus",
            "must be between 0.1 and 64",
        ));
    }
    Ok(Resources {
        gpus: in_range("resources.gpus", input.gpus.unwrap_or(0), 0, 8)?,
        cpus,
        memory_mb: in_range(
            "resources.memoryMb",
            input.memory_mb.unwrap_or(2048),
            128,
            262_144,
        )?,
    })
}

pub fn max_runtime(seconds: Option<i32>) -> Result<i32> {
    in_range(
        "maxRuntimeSeconds",
        seconds.unwrap_or(DEFAULT_MAX_RUNTIME_SECONDS),
        10,
        MAX_RUNTIME_SECONDS,
    )
}

/// A JSON object of at most 64 KiB (advanced configuration, export options).
pub fn json_object(field: &'static str, value: Option<Value>) -> Result<Value> {
    let value = value.unwrap_or_else(|| Value::Object(Default::default()));
    if !value.is_object() {
        return Err(Error::invalid(field, "must be a JSON object"));
    }
    if value.to_string().len() > MAX_ADVANCED_CONFIG_BYTES {
        return Err(Error::invalid(field, "may have at most 64 KiB"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sane_and_limits_name_their_field() {
        let defaults = config(ConfigInput::default()).expect("defaults");
        assert_eq!(
            (defaults.epochs, defaults.batch_size, defaults.imgsz),
            (10, 16, 640)
        );
        let field = |e: Error| match e {
            Error::InvalidInput { field, .. } => field.into_owned(),
            other => panic!("{other:?}"),
        };
        let bad_epochs = config(ConfigInput {
            epochs: Some(0),
            ..Default::default()
        });
        assert_eq!(field(bad_epochs.expect_err("refused")), "config.epochs");
        let bad_lr = config(ConfigInput {
            learning_rate: Some(f64::NAN),
            ..Default::default()
        });
        assert_eq!(field(bad_lr.expect_err("refused")), "config.learningRate");
        let bad_device = config(ConfigInput {
            device: Some("cuda; rm -rf".into()),
            ..Default::default()
        });
        assert_eq!(field(bad_device.expect_err("refused")), "config.device");
        let bad_gpus = resources(ResourcesInput {
            gpus: Some(-1),
            ..Default::default()
        });
        assert_eq!(field(bad_gpus.expect_err("refused")), "resources.gpus");
        assert_eq!(
            field(max_runtime(Some(0)).expect_err("refused")),
            "maxRuntimeSeconds"
        );
        assert_eq!(
            field(json_object("advancedConfig", Some(Value::from(3))).expect_err("refused")),
            "advancedConfig"
        );
    }
}
