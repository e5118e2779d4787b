//! A deployment's replicas, batching, resources and scale to zero: defaults, and the checks
//! of what a person asks for (each refusal names its field).

use crate::entities::deployments;
use crate::entities::jobs::Resources;
use crate::error::{Error, Result};
use crate::jobs::input::{self, ResourcesInput};

/// Replicas of one deployment at most.
pub const MAX_REPLICAS: i32 = 16;
/// The largest batch a replica runs; also what one Open Inference Protocol request may hold.
pub const MAX_BATCH_SIZE: i32 = 64;
pub const MAX_QUEUE_DELAY_MS: i32 = 1_000;
const MIN_IDLE_SECONDS: i32 = 30;
const MAX_IDLE_SECONDS: i32 = 7 * 24 * 3600;

/// What a person gives; `None` keeps the current value (or the default, on creation).
#[derive(Default)]
pub struct SettingsInput {
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    pub max_batch_size: Option<i32>,
    pub max_queue_delay_ms: Option<i32>,
    pub resources: Option<ResourcesInput>,
    pub idle_seconds_before_scale_to_zero: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentSettings {
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub max_batch_size: i32,
    pub max_queue_delay_ms: i32,
    pub resources: Resources,
    pub idle_seconds_before_scale_to_zero: i32,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        Self {
            min_replicas: 1,
            max_replicas: 1,
            max_batch_size: 8,
            max_queue_delay_ms: 5,
            resources: Resources {
                gpus: 0,
                cpus: 1.0,
                memory_mb: 1024,
            },
            idle_seconds_before_scale_to_zero: 300,
        }
    }
}

fn within(field: &'static str, value: i32, low: i32, high: i32) -> Result<i32> {
    if !(low..=high).contains(&value) {
        return Err(Error::invalid(
            field,
            format!("must be between {low} and {high}"),
        ));
    }
    Ok(value)
}

impl DeploymentSettings {
    pub fn of(deployment: &deployments::Model) -> Self {
        Self {
            min_replicas: deployment.min_replicas,
            max_replicas: deployment.max_replicas,
            max_batch_size: deployment.max_batch_size,
            max_queue_delay_ms: deployment.max_queue_delay_ms,
            resources: deployment.resources.clone(),
            idle_seconds_before_scale_to_zero: deployment.idle_seconds_before_scale_to_zero,
        }
    }

    /// `self` changed by `input`, checked as a whole (a new minimum against the old
    /// maximum, and so on).
    pub fn apply(self, input: SettingsInput) -> Result<Self> {
        let min_replicas = within(
            "minReplicas",
            input.min_replicas.unwrap_or(self.min_replicas),
            0,
            MAX_REPLICAS,
        )?;
        let max_replicas = within(
            "maxReplicas",
            input
                .max_replicas
                .unwrap_or(self.max_replicas.max(min_replicas)),
            1,
            MAX_REPLICAS,
        )?;
        if min_replicas > max_replicas {
            return Err(Error::invalid(
                "minReplicas",
                format!("is {min_replicas}, above maxReplicas ({max_replicas})"),
            ));
        }
        let resources = match input.resources {
            Some(given) => input::resources(given)?,
            None => self.resources,
        };
        if resources.gpus > 0 {
            return Err(Error::invalid(
                "resources.gpus",
                "the ONNX runtime runs on CPUs; ask for 0 GPUs",
            ));
        }
        Ok(Self {
            min_replicas,
            max_replicas,
            max_batch_size: within(
                "maxBatchSize",
                input.max_batch_size.unwrap_or(self.max_batch_size),
                1,
                MAX_BATCH_SIZE,
            )?,
            max_queue_delay_ms: within(
                "maxQueueDelayMs",
                input.max_queue_delay_ms.unwrap_or(self.max_queue_delay_ms),
                0,
                MAX_QUEUE_DELAY_MS,
            )?,
            resources,
            idle_seconds_before_scale_to_zero: within(
                "idleSecondsBeforeScaleToZero",
                input
                    .idle_seconds_before_scale_to_zero
                    .unwrap_or(self.idle_seconds_before_scale_to_zero),
                MIN_IDLE_SECONDS,
                MAX_IDLE_SECONDS,
            )?,
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn field_of(result: Result<DeploymentSettings>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field.into_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn refusals_name_their_field() {
        let base = DeploymentSettings::default;
        let with = |input: SettingsInput| base().apply(input);
        assert_eq!(
            field_of(with(SettingsInput {
                min_replicas: Some(3),
                max_replicas: Some(2),
                ..Default::default()
            })),
            "minReplicas"
        );
        assert_eq!(
            field_of(with(SettingsInput {
                max_batch_size: Some(0),
                ..Default::default()
            })),
            "maxBatchSize"
        );
        assert_eq!(
            field_of(with(SettingsInput {
                max_queue_delay_ms: Some(-1),
                ..Default::default()
            })),
            "maxQueueDelayMs"
        );
        assert_eq!(
            field_of(with(SettingsInput {
                idle_seconds_before_scale_to_zero: Some(1),
                ..Default::default()
            })),
            "idleSecondsBeforeScaleToZero"
        );
        assert_eq!(
            field_of(with(SettingsInput {
                resources: Some(ResourcesInput {
                    gpus: Some(1),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            "resources.gpus"
        );
    }

    #[test]
    fn a_larger_minimum_raises_the_default_maximum() {
        let settings = DeploymentSettings::default()
            .apply(SettingsInput {
                min_replicas: Some(2),
                ..Default::default()
            })
            .unwrap();
        assert_eq!((settings.min_replicas, settings.max_replicas), (2, 2));
        let zero = DeploymentSettings::default()
            .apply(SettingsInput {
                min_replicas: Some(0),
                ..Default::default()
            })
            .unwrap();
        assert_eq!((zero.min_replicas, zero.max_replicas), (0, 1));
    }
}
