//! The worker's side of a job's life: begin an attempt (new job token, status running),
//! record the workload's output and files, finish the attempt. Every write is conditional on
//! the attempt still being the job's current one, so a worker that lost its lease (and
//! whose job another worker took over) can change nothing: a job finishes exactly once.

use super::announce_job;
use super::billing::AttemptUsage;
use crate::auth::secrets;
use crate::domain::{Domain, Tx};
use crate::entities::job_artifacts::{self, ArtifactKind};
use crate::entities::job_logs::{self, LogLevel, LogSource};
use crate::entities::jobs::{self, CheckpointKind, JobKind, JobStatus};
use crate::entities::{inference_results, job_events, trainer_versions};
use crate::error::{Error, Result};
use crate::events::{Event, job_logs_topic};
use crate::ids::{ArtifactId, InferenceResultId, JobId, JobLogId};
use crate::time::now;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What a worker needs to run an attempt.
pub struct Attempt {
    pub job: jobs::Model,
    pub version: trainer_versions::Model,
    /// The job's credential for the HTTP transport, valid for this attempt only.
    pub token: String,
    /// For inference and export: the checkpoint to mount.
    pub checkpoint: Option<job_artifacts::Model>,
}

/// How the workload ended, as the executor saw it.
pub enum Ending {
    Exited {
        code: i64,
    },
    TimedOut,
    Cancelled,
    /// The platform could not run it (no executor fits, engine error): not the trainer's fault.
    PlatformError {
        error_type: &'static str,
        message: String,
    },
}

pub struct AttemptReport {
    pub ending: Ending,
    pub runtime_ms: i64,
    pub executor: Option<String>,
}

/// Predictions kept per job; a results file with more entries is refused.
const MAX_PREDICTIONS: usize = 100_000;
const MAX_PREDICTIONS_BYTES: u64 = 256 * 1024 * 1024;

fn artifact_kind_of(checkpoint: CheckpointKind) -> ArtifactKind {
    match checkpoint {
        CheckpointKind::Best => ArtifactKind::BestCheckpoint,
        CheckpointKind::Last => ArtifactKind::LastCheckpoint,
    }
}

impl Domain {
    /// Starts the next attempt of a queued (or, after a lost worker, running) job; `None`
    /// when there is nothing to run: the job finished or was cancelled meanwhile.
    pub async fn begin_attempt(&self, id: JobId) -> Result<Option<Attempt>> {
        let mut tx = self.begin().await?;
        let job = Self::job_in_tx(&tx, id).await?;
        if job.status.is_terminal() {
            return Ok(None);
        }
        let at = now();
        if job.cancel_requested {
            let mut cancelled: jobs::ActiveModel = job.into();
            cancelled.status = Set(JobStatus::Cancelled);
            cancelled.finished_at = Set(Some(at));
            cancelled.updated_at = Set(at);
            let cancelled = cancelled.update(&*tx).await?;
            self.catalog.job_ended(&tx, &cancelled).await?;
            announce_job(&mut tx, &cancelled);
            self.commit(tx).await?;
            return Ok(None);
        }
        let version = trainer_versions::Entity::find_by_id(job.trainer_version_id)
            .one(&*tx)
            .await?
            .ok_or(Error::NotFound("trainer version"))?;
        let checkpoint = match (job.source_job_id, job.checkpoint) {
            (Some(source), Some(kind)) => Some(
                job_artifacts::Entity::find()
                    .filter(job_artifacts::Column::JobId.eq(source))
                    .filter(job_artifacts::Column::Kind.eq(artifact_kind_of(kind)))
                    .one(&*tx)
                    .await?
                    .ok_or(Error::NotFound("checkpoint"))?,
            ),
            _ => None,
        };
        let token = format!("kjt_{}", secrets::random_token());
        let mut update: jobs::ActiveModel = job.clone().into();
        update.attempt = Set(job.attempt + 1);
        update.status = Set(JobStatus::Running);
        update.token_hash = Set(secrets::hash(&token));
        update.started_at = Set(job.started_at.or(Some(at)));
        // Progress starts over with the attempt; the stored events of earlier attempts stay.
        update.current_epoch = Set(None);
        update.latest_metrics = Set(None);
        update.error_type = Set(None);
        update.error_message = Set(None);
        update.updated_at = Set(at);
        let job = update.update(&*tx).await?;
        if job.attempt > 1 {
            let message = format!(
                "attempt {} started (the previous one did not finish)",
                job.attempt
            );
            self.platform_log(&mut tx, &job, LogLevel::Warning, message)
                .await?;
        }
        announce_job(&mut tx, &job);
        self.commit(tx).await?;
        Ok(Some(Attempt {
            job,
            version,
            token,
            checkpoint,
        }))
    }

    /// Copies a stored artifact (a checkpoint) to `target`.
    pub async fn download_artifact(
        &self,
        artifact: &job_artifacts::Model,
        target: &Path,
    ) -> Result<()> {
        let mut reader = self
            .blobs
            .open(&artifact.blob_key)
            .await
            .map_err(Error::storage)?;
        let mut file = tokio::fs::File::create(target)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        Ok(())
    }

    pub async fn cancel_requested(&self, id: JobId) -> Result<bool> {
        Ok(jobs::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .is_some_and(|job| job.cancel_requested))
    }

    /// The stored events of the attempt after trainer `seq`, that ask the worker to act
    /// (store a checkpoint, results or an export), whichever transport brought them.
    pub async fn actionable_events(
        &self,
        id: JobId,
        attempt: i32,
        after_seq: i64,
    ) -> Result<Vec<job_events::Model>> {
        use sea_orm::QueryOrder;
        Ok(job_events::Entity::find()
            .filter(job_events::Column::JobId.eq(id))
            .filter(job_events::Column::Attempt.eq(attempt))
            .filter(job_events::Column::Seq.gt(after_seq))
            .filter(job_events::Column::Kind.is_in([
                "checkpoint",
                "inference_completed",
                "export_completed",
            ]))
            .order_by_asc(job_events::Column::Seq)
            .all(&self.db)
            .await?)
    }

    /// Lines the workload printed (stdout/stderr), or notes of the worker.
    pub async fn append_output(
        &self,
        job: &jobs::Model,
        lines: Vec<(LogSource, LogLevel, String)>,
    ) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let ts = now();
        let rows: Vec<job_logs::Model> = lines
            .into_iter()
            .map(|(source, level, message)| job_logs::Model {
                id: JobLogId::new(),
                org_id: job.org_id,
                job_id: job.id,
                attempt: job.attempt,
                source,
                level,
                message,
                metadata: None,
                ts,
            })
            .collect();
        let mut tx = self.begin().await?;
        job_logs::Entity::insert_many(rows.iter().cloned().map(job_logs::ActiveModel::from))
            .exec(&*tx)
            .await?;
        for row in rows {
            tx.announce(job_logs_topic(job.id), Event::JobLog(row));
        }
        self.commit(tx).await
    }

    /// Stores a file the job wrote under its output folder and records it as the job's
    /// artifact of this kind (a newer best or last checkpoint replaces the older one).
    pub async fn store_artifact(
        &self,
        job: &jobs::Model,
        kind: ArtifactKind,
        file: &Path,
        details: ArtifactDetails,
    ) -> Result<job_artifacts::Model> {
        let sha256 = sha256_of(file).await?;
        let name = match kind {
            ArtifactKind::BestCheckpoint => "checkpoint-best",
            ArtifactKind::LastCheckpoint => "checkpoint-last",
            ArtifactKind::Predictions => "predictions",
            ArtifactKind::Export => "export",
        };
        // Content-addressed within the job: a replaced checkpoint never overwrites a file a
        // download link may still point at.
        let key = format!(
            "orgs/{}/jobs/{}/{name}-{}",
            job.org_id,
            job.id,
            &sha256[..16]
        );
        let size = self
            .blobs
            .put_file(&key, file)
            .await
            .map_err(Error::storage)?;
        let tx = self.begin().await?;
        let current = jobs::Entity::find()
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Attempt.eq(job.attempt))
            .one(&*tx)
            .await?;
        if current.is_none() {
            return Err(Error::conflict("the attempt was taken over"));
        }
        job_artifacts::Entity::delete_many()
            .filter(job_artifacts::Column::JobId.eq(job.id))
            .filter(job_artifacts::Column::Kind.eq(kind))
            .exec(&*tx)
            .await?;
        let artifact = job_artifacts::ActiveModel {
            id: Set(ArtifactId::new()),
            org_id: Set(job.org_id),
            job_id: Set(job.id),
            kind: Set(kind),
            format: Set(details.format),
            epoch: Set(details.epoch),
            metrics: Set(details.metrics),
            metadata: Set(details.metadata),
            blob_key: Set(key),
            size: Set(size as i64),
            sha256: Set(sha256),
            created_at: Set(now()),
        }
        .insert(&*tx)
        .await?;
        self.commit(tx).await?;
        Ok(artifact)
    }

    /// Reads an inference job's predictions file (a JSON array of `{file_name,
    /// predictions}`) into queryable rows, and keeps the file.
    pub async fn store_predictions(&self, job: &jobs::Model, file: &Path) -> Result<usize> {
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| Error::invalid("results_path", e.to_string()))?
            .len();
        if size > MAX_PREDICTIONS_BYTES {
            return Err(Error::invalid(
                "results_path",
                "the predictions file is larger than 256 MiB",
            ));
        }
        let bytes = tokio::fs::read(file)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        let entries: Vec<Value> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(
                "results_path",
                format!("predictions are not a JSON array: {e}"),
            )
        })?;
        if entries.len() > MAX_PREDICTIONS {
            return Err(Error::invalid(
                "results_path",
                format!("at most {MAX_PREDICTIONS} predictions"),
            ));
        }
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let file_name = entry
                .get("file_name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::invalid("results_path", "every prediction needs a file_name")
                })?;
            rows.push(inference_results::ActiveModel {
                id: Set(InferenceResultId::new()),
                org_id: Set(job.org_id),
                job_id: Set(job.id),
                file_name: Set(file_name.chars().take(1000).collect()),
                predictions: Set(entry
                    .get("predictions")
                    .cloned()
                    .unwrap_or(Value::Array(vec![]))),
            });
        }
        let count = rows.len();
        self.store_artifact(
            job,
            ArtifactKind::Predictions,
            file,
            ArtifactDetails::default(),
        )
        .await?;
        let tx = self.begin().await?;
        inference_results::Entity::delete_many()
            .filter(inference_results::Column::JobId.eq(job.id))
            .exec(&*tx)
            .await?;
        for chunk in rows.chunks(500) {
            inference_results::Entity::insert_many(chunk.to_vec())
                .exec(&*tx)
                .await?;
        }
        self.commit(tx).await?;
        Ok(count)
    }

    /// Ends the attempt and sets the job's final status from the events it reported and how
    /// it exited (the contract's rules). `None` when the attempt was no longer current.
    pub async fn finish_attempt(
        &self,
        job: &jobs::Model,
        report: AttemptReport,
    ) -> Result<Option<jobs::Model>> {
        let mut tx = self.begin().await?;
        let Some(current) = jobs::Entity::find()
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Attempt.eq(job.attempt))
            .filter(jobs::Column::Status.eq(JobStatus::Running))
            .one(&*tx)
            .await?
        else {
            return Ok(None);
        };
        let reported = |kind: &'static str| {
            job_events::Entity::find()
                .filter(job_events::Column::JobId.eq(job.id))
                .filter(job_events::Column::Attempt.eq(job.attempt))
                .filter(job_events::Column::Kind.eq(kind))
                .one(&*tx)
        };
        let done_event = match current.kind {
            JobKind::Training | JobKind::Validation => "completed",
            JobKind::Inference => "inference_completed",
            JobKind::Export => "export_completed",
        };
        let completed = reported(done_event).await?.is_some();
        let failed = reported("failed").await?.is_some();
        let platform_fault = match &report.ending {
            Ending::PlatformError { error_type, .. } => Some(error_type.to_string()),
            _ => None,
        };
        let (status, error_type, message) = match report.ending {
            Ending::Cancelled => (JobStatus::Cancelled, None, None),
            Ending::PlatformError {
                error_type,
                message,
            } => (
                JobStatus::Failed,
                Some(error_type.to_string()),
                Some(message),
            ),
            Ending::TimedOut => (
                JobStatus::Failed,
                Some("timeout".to_string()),
                Some(format!(
                    "stopped after its limit of {} s",
                    current.max_runtime_seconds
                )),
            ),
            Ending::Exited { .. } if completed => (JobStatus::Succeeded, None, None),
            // The trainer's own report says more than its exit code.
            Ending::Exited { .. } if failed => (
                JobStatus::Failed,
                current.error_type.clone(),
                current.error_message.clone(),
            ),
            Ending::Exited { code: 0 } => (
                JobStatus::Failed,
                Some("contract".to_string()),
                Some(format!("the trainer exited without reporting {done_event}")),
            ),
            Ending::Exited { code } => (
                JobStatus::Failed,
                Some("exit".to_string()),
                Some(format!(
                    "the trainer exited with code {code} without reporting {done_event}"
                )),
            ),
        };
        let at = now();
        let mut update: jobs::ActiveModel = current.into();
        update.status = Set(status);
        update.error_type = Set(error_type);
        update.error_message = Set(message.clone());
        update.runtime_ms = Set(report.runtime_ms);
        update.executor = Set(report.executor);
        update.finished_at = Set(Some(at));
        update.updated_at = Set(at);
        let finished = update.update(&*tx).await?;
        if let Some(message) = message {
            self.platform_log(&mut tx, &finished, LogLevel::Error, message)
                .await?;
        }
        self.meter_attempt(&mut tx, &finished, report.runtime_ms, platform_fault)
            .await?;
        self.catalog.job_ended(&tx, &finished).await?;
        announce_job(&mut tx, &finished);
        self.commit(tx).await?;
        Ok(Some(finished))
    }

    /// Gives a job back to the queue after the platform failed to run it, for another
    /// attempt after the queue's backoff.
    pub async fn requeue_attempt(&self, job: &jobs::Model, reason: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let requeued = jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
            .col_expr(
                jobs::Column::ErrorMessage,
                Expr::value(format!("will retry: {reason}")),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(now()))
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Attempt.eq(job.attempt))
            .filter(jobs::Column::Status.eq(JobStatus::Running))
            .exec(&*tx)
            .await?;
        if requeued.rows_affected == 1 {
            let current = Self::job_in_tx(&tx, job.id).await?;
            self.platform_log(
                &mut tx,
                &current,
                LogLevel::Warning,
                format!("the platform could not run this attempt: {reason}"),
            )
            .await?;
            announce_job(&mut tx, &current);
        }
        self.commit(tx).await?;
        Ok(())
    }
}

impl Domain {
    /// Fails a job whose workers were lost on every attempt (its task died): nobody will
    /// run it again. Does nothing to a job that already ended.
    pub async fn fail_lost_job(&self, id: JobId) -> Result<()> {
        let mut tx = self.begin().await?;
        let job = Self::job_in_tx(&tx, id).await?;
        if job.status.is_terminal() {
            return Ok(());
        }
        let message = format!(
            "the worker running it was lost on every attempt ({} attempts)",
            job.attempt
        );
        let at = now();
        let mut update: jobs::ActiveModel = job.into();
        update.status = Set(JobStatus::Failed);
        update.error_type = Set(Some("worker_lost".into()));
        update.error_message = Set(Some(message.clone()));
        update.finished_at = Set(Some(at));
        update.updated_at = Set(at);
        let failed = update.update(&*tx).await?;
        self.platform_log(&mut tx, &failed, LogLevel::Error, message)
            .await?;
        // The attempts' runtime died with their workers: only what was recorded is known.
        self.meter_attempt(
            &mut tx,
            &failed,
            failed.runtime_ms,
            Some("worker_lost".into()),
        )
        .await?;
        self.catalog.job_ended(&tx, &failed).await?;
        announce_job(&mut tx, &failed);
        self.commit(tx).await
    }
}

impl Domain {
    /// Hands an ended attempt's usage to billing, in the transaction that ends it.
    async fn meter_attempt(
        &self,
        tx: &mut Tx,
        job: &jobs::Model,
        runtime_ms: i64,
        platform_fault: Option<String>,
    ) -> Result<()> {
        let usage = AttemptUsage {
            job,
            runtime_ms,
            platform_fault,
        };
        for (topic, event) in self.billing.attempt_ended(tx, &usage).await? {
            tx.announce(topic, event);
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct ArtifactDetails {
    pub format: Option<String>,
    pub epoch: Option<i32>,
    pub metrics: Option<Value>,
    pub metadata: Option<Value>,
}

async fn sha256_of(path: &Path) -> Result<String> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::invalid("path", format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}
