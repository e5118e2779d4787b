//! Turns an attempt into a launch: the work folder (dataset, checkpoint, output, events
//! file), the contract's environment and the hyperparameter flags.

use super::JobRunnerConfig;
use crate::executor::{Launch, Program, Resources};
use anyhow::Context;
use keynet_domain::Domain;
use keynet_domain::entities::jobs::{self, JobKind};
use keynet_domain::entities::trainer_versions::{self, Runtime};
use keynet_domain::jobs::lifecycle::Attempt;
use keynet_hyperparameters::as_flags;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Processes a job may start, counting threads; enough for data loaders.
const PIDS_LIMIT: u32 = 512;

pub fn program_of(version: &trainer_versions::Model) -> Program {
    match version.runtime {
        Runtime::Image => Program::Image {
            reference: version.reference.clone(),
        },
        Runtime::Local => Program::Local {
            path: PathBuf::from(&version.reference),
        },
    }
}

pub fn resources_of(job: &jobs::Model) -> Resources {
    Resources {
        gpus: job.resources.gpus.max(0) as u32,
        cpus: job.resources.cpus,
        memory_mb: job.resources.memory_mb.max(0) as u64,
        pids: PIDS_LIMIT,
    }
}

pub async fn prepare(
    domain: &Domain,
    attempt: &Attempt,
    dir: &Path,
    program: Program,
    resources: Resources,
    config: &JobRunnerConfig,
    network: bool,
) -> anyhow::Result<Launch> {
    let job = &attempt.job;
    let input_dir = dir.join("input");
    let output_dir = dir.join("output");
    let events_file = dir.join("events.jsonl");
    // A leftover of a crashed run of the same attempt number must not leak into this one.
    if tokio::fs::try_exists(dir).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(dir)
            .await
            .context("cleaning an old work folder")?;
    }
    tokio::fs::create_dir_all(&input_dir)
        .await
        .context("creating the work folder")?;
    tokio::fs::create_dir_all(&output_dir).await?;
    tokio::fs::write(&events_file, b"").await?;
    // The image may run as any user: it must be able to write its outputs and events.
    set_mode(&output_dir, 0o777).await?;
    set_mode(&events_file, 0o666).await?;
    if let Some(upload) = job.inference_upload_id {
        domain
            .download_inference_upload(upload, &input_dir.join("images"))
            .await
            .context("preparing the image")?;
    }
    if let Some(snapshot) = job.snapshot_id {
        domain
            .materialize_snapshot(snapshot, &input_dir.join("dataset"))
            .await
            .context("preparing the dataset")?;
    }
    // Only compliance jobs have neither: they run on a generated dataset.
    let compliance = matches!(job.kind, JobKind::Validation | JobKind::Inference)
        && job.snapshot_id.is_none()
        && job.inference_upload_id.is_none();
    if compliance {
        super::sample_dataset::write(&input_dir.join("dataset"), job.task_type)
            .await
            .context("generating the compliance dataset")?;
    }
    if let Some(checkpoint) = &attempt.checkpoint {
        let name = checkpoint
            .metadata
            .as_ref()
            .and_then(|m| m.get("file_name"))
            .and_then(Value::as_str)
            .filter(|name| !name.contains('/') && !name.starts_with('.'))
            .unwrap_or("checkpoint");
        let folder = input_dir.join("checkpoint");
        tokio::fs::create_dir_all(&folder).await?;
        domain
            .download_artifact(checkpoint, &folder.join(name))
            .await
            .context("preparing the checkpoint")?;
    }
    let hyperparameters = job.hyperparameters.as_object().cloned().unwrap_or_default();
    let mut env = contract_env(attempt, &hyperparameters);
    if network {
        env.push((
            "CALLBACK_URL".into(),
            format!(
                "{}/api/v1/jobs/{}",
                config.public_url.trim_end_matches('/'),
                job.id
            ),
        ));
        env.push(("JOB_TOKEN".into(), attempt.token.clone()));
    }
    Ok(Launch {
        job_id: job.id.to_string(),
        attempt: job.attempt,
        program,
        args: as_flags(&hyperparameters, &attempt.version.hyperparameters),
        env,
        input_dir,
        output_dir,
        events_file,
        resources,
        max_runtime: Duration::from_secs(job.max_runtime_seconds.max(1) as u64),
        log_limit_bytes: config.log_limit_bytes,
    })
}

/// The variables of the trainer contract.
fn contract_env(
    attempt: &Attempt,
    hyperparameters: &serde_json::Map<String, Value>,
) -> Vec<(String, String)> {
    let job = &attempt.job;
    let mut advanced = job.advanced_config.clone();
    if job.kind == JobKind::Export
        && let Value::Object(advanced) = &mut advanced
    {
        advanced.insert("format".into(), json!(job.export_format));
        advanced.insert("options".into(), job.options.clone());
    }
    let primary_metric = job
        .advanced_config
        .get("primary_metric")
        .cloned()
        .unwrap_or(Value::Null);
    let config = json!({
        "advanced_config": advanced,
        "primary_metric": primary_metric,
        "hyperparameters": hyperparameters,
    });
    let mut env = vec![
        ("JOB_ID".to_string(), job.id.to_string()),
        ("JOB_KIND".into(), job.kind.contract_name().into()),
        (
            "TASK_TYPE".into(),
            keynet_domain::datasets::task_type_name(job.task_type).into(),
        ),
        ("FRAMEWORK".into(), attempt.version.framework.clone()),
        ("MODEL_NAME".into(), job.model_name.clone()),
        (
            "DATASET_ID".into(),
            job.snapshot_id.map(|s| s.to_string()).unwrap_or_default(),
        ),
        ("EPOCHS".into(), job.config.epochs.to_string()),
        ("BATCH_SIZE".into(), job.config.batch_size.to_string()),
        ("LEARNING_RATE".into(), job.config.learning_rate.to_string()),
        ("IMGSZ".into(), job.config.imgsz.to_string()),
        ("DEVICE".into(), job.config.device.clone()),
        ("CONFIG".into(), config.to_string()),
    ];
    if let Some(format) = &job.export_format {
        env.push(("EXPORT_FORMAT".into(), format.clone()));
    }
    env
}

async fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .await
        .with_context(|| format!("setting the mode of {}", path.display()))
}
