//! The `TEST_RUN` step: the pushed image runs under the same sandbox as every job, on a tiny
//! dataset the worker generates, as a validation job that must report `started`, then
//! `progress`, then a `checkpoint`, then `completed` within its time limit; then as an
//! inference job on that checkpoint. Only then is the version `READY`.
//!
//! The step is driven by the version's check task: it starts the next job and returns;
//! when a compliance job ends, [`compliance_job_ended`] queues the check again.

use super::checks::{CHECK_TRAINER_VERSION, StepOutcome};
use crate::Marketplace;
use crate::entities::trainer_upload_keys;
use crate::error::Result;
use keynet_domain::audit::Change;
use keynet_domain::entities::jobs::{
    self, CheckpointKind, JobConfig, JobKind, JobStatus, Resources,
};
use keynet_domain::entities::trainer_versions::{self, Check, CheckStatus, VersionStatus};
use keynet_domain::entities::{job_artifacts, job_events, projects};
use keynet_domain::jobs::announce_job;
use keynet_domain::jobs::start::{enqueue_run, follow_up, new_job};
use keynet_domain::tasks;
use keynet_hyperparameters::ParamType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value, json};

/// The compliance run's training: long enough to see an epoch boundary, short for the CPU.
const EPOCHS: i32 = 2;
/// A trainer that has not finished the tiny run by then fails the check.
const MAX_RUNTIME_SECONDS: i32 = 600;
const MEMORY_MB: i64 = 1024;

/// The events a compliance training must report, in this order.
const REQUIRED_EVENTS: [&str; 4] = ["started", "progress", "checkpoint", "completed"];

fn line(name: &str, status: CheckStatus, message: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status,
        message: message.into(),
    }
}

impl Marketplace {
    /// Where the version's compliance run stands: `None` while a job is queued or running
    /// (one is started when needed), else the step's outcome.
    pub(crate) async fn compliance_step(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<Option<StepOutcome>> {
        let rejected = |check: Check| {
            Some(StepOutcome::decide(
                vec![check],
                VersionStatus::Rejected,
                Box::new(|_| {}),
            ))
        };
        let training = jobs::Entity::find()
            .filter(jobs::Column::TrainerVersionId.eq(version.id))
            .filter(jobs::Column::Kind.eq(JobKind::Validation))
            .order_by_desc(jobs::Column::CreatedAt)
            .one(&self.db)
            .await?;
        let Some(training) = training else {
            return match self.start_compliance_training(version).await? {
                Ok(()) => Ok(None),
                Err(check) => Ok(rejected(check)),
            };
        };
        if !training.status.is_terminal() {
            return Ok(None);
        }
        if training.status != JobStatus::Succeeded {
            return Ok(rejected(line(
                "test_run.training",
                CheckStatus::Failed,
                format!(
                    "the validation job {} {}: {}",
                    training.id,
                    status_word(training.status),
                    training.error_message.clone().unwrap_or_default()
                ),
            )));
        }
        let reported = self.reported_kinds(&training).await?;
        if let Err(message) = in_contract_order(&reported) {
            return Ok(rejected(line(
                "test_run.training",
                CheckStatus::Failed,
                message,
            )));
        }
        let training_line = line(
            "test_run.training",
            CheckStatus::Passed,
            format!(
                "{EPOCHS} epochs on a generated dataset in {:.1} s: {}",
                training.runtime_ms as f64 / 1000.0,
                REQUIRED_EVENTS.join(" → ")
            ),
        );
        let inference = jobs::Entity::find()
            .filter(jobs::Column::SourceJobId.eq(training.id))
            .filter(jobs::Column::Kind.eq(JobKind::Inference))
            .order_by_desc(jobs::Column::CreatedAt)
            .one(&self.db)
            .await?;
        let Some(inference) = inference else {
            self.start_compliance_inference(&training).await?;
            return Ok(None);
        };
        if !inference.status.is_terminal() {
            return Ok(None);
        }
        let inference_line = if inference.status == JobStatus::Succeeded {
            line(
                "test_run.inference",
                CheckStatus::Passed,
                "inference on the checkpoint reported inference_completed",
            )
        } else {
            line(
                "test_run.inference",
                CheckStatus::Failed,
                format!(
                    "the inference job {} {}: {}",
                    inference.id,
                    status_word(inference.status),
                    inference.error_message.clone().unwrap_or_default()
                ),
            )
        };
        Ok(Some(StepOutcome::decide(
            vec![training_line, inference_line],
            VersionStatus::Ready,
            Box::new(|_| {}),
        )))
    }

    async fn start_compliance_training(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<std::result::Result<(), Check>> {
        let Some(project) = self.compliance_project(version).await? else {
            return Ok(Err(line(
                "test_run.training",
                CheckStatus::Failed,
                "the organization has no project for the trainer's task types to run the compliance job in; create one, or push with keynet-train",
            )));
        };
        let hyperparameters = match version
            .hyperparameters
            .resolve(&Value::Object(sample_values(version)))
        {
            Ok(values) => values,
            Err(e) => {
                return Ok(Err(line(
                    "test_run.training",
                    CheckStatus::Failed,
                    format!("the declared hyperparameters cannot be filled: {e}"),
                )));
            }
        };
        let job = jobs::ActiveModel {
            kind: Set(JobKind::Validation),
            model_name: Set(format!("compliance v{}", version.version)),
            config: Set(JobConfig {
                epochs: EPOCHS,
                batch_size: 4,
                learning_rate: 0.01,
                imgsz: 32,
                device: "cpu".into(),
            }),
            advanced_config: Set(json!({})),
            hyperparameters: Set(Value::Object(hyperparameters)),
            resources: Set(Resources {
                gpus: 0,
                cpus: 1.0,
                memory_mb: MEMORY_MB,
            }),
            max_runtime_seconds: Set(MAX_RUNTIME_SECONDS),
            created_by: Set(version.created_by),
            ..new_job(&project, version)
        };
        self.queue_compliance_job(job).await?;
        Ok(Ok(()))
    }

    async fn start_compliance_inference(&self, training: &jobs::Model) -> Result<()> {
        let best = job_artifacts::Entity::find()
            .filter(job_artifacts::Column::JobId.eq(training.id))
            .filter(job_artifacts::Column::Kind.eq(job_artifacts::ArtifactKind::BestCheckpoint))
            .one(&self.db)
            .await?
            .is_some();
        let job = jobs::ActiveModel {
            kind: Set(JobKind::Inference),
            checkpoint: Set(Some(if best {
                CheckpointKind::Best
            } else {
                CheckpointKind::Last
            })),
            ..follow_up(training)
        };
        self.queue_compliance_job(job).await
    }

    /// Inserts and queues a compliance job. It is the platform's job, not the author's:
    /// no quota applies to it.
    async fn queue_compliance_job(&self, job: jobs::ActiveModel) -> Result<()> {
        let mut tx = self.begin().await?;
        let job = job.insert(&*tx).await?;
        enqueue_run(&tx, &job).await?;
        Change::new(job.org_id, "trainer.compliance_job_started", "job", job.id)
            .meta(json!({"kind": job.kind, "trainer_version_id": job.trainer_version_id}))
            .record(&mut tx)
            .await?;
        announce_job(&mut tx, &job);
        Ok(self.commit(tx).await?)
    }

    /// The project the upload key was requested for; for a plain push, the organization's
    /// oldest project of one of the trainer's task types.
    async fn compliance_project(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<Option<projects::Model>> {
        let key = trainer_upload_keys::Entity::find()
            .filter(trainer_upload_keys::Column::VersionId.eq(version.id))
            .one(&self.db)
            .await?;
        if let Some(key) = key
            && let Some(project) = projects::Entity::find_by_id(key.project_id)
                .one(&self.db)
                .await?
        {
            return Ok(Some(project));
        }
        Ok(projects::Entity::find()
            .filter(projects::Column::OrgId.eq(version.org_id))
            .filter(projects::Column::TaskType.is_in(version.task_types.0.clone()))
            .order_by_asc(projects::Column::Id)
            .one(&self.db)
            .await?)
    }

    /// The kinds of the events the job's last attempt reported, in `seq` order.
    async fn reported_kinds(&self, job: &jobs::Model) -> Result<Vec<String>> {
        Ok(job_events::Entity::find()
            .filter(job_events::Column::JobId.eq(job.id))
            .filter(job_events::Column::Attempt.eq(job.attempt))
            .order_by_asc(job_events::Column::Seq)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|event| event.kind)
            .collect())
    }
}

/// Checks that `started`, `progress`, `checkpoint` and `completed` each appear, in this
/// order (other events may come between).
fn in_contract_order(kinds: &[String]) -> std::result::Result<(), String> {
    let mut position = 0;
    for required in REQUIRED_EVENTS {
        match kinds[position..].iter().position(|kind| kind == required) {
            Some(offset) => position += offset + 1,
            None => {
                return Err(format!(
                    "the trainer must report {}; it reported {}",
                    REQUIRED_EVENTS.join(" → "),
                    if kinds.is_empty() {
                        "nothing".to_string()
                    } else {
                        kinds.join(", ")
                    }
                ));
            }
        }
    }
    Ok(())
}

fn status_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "was cancelled",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Queued | JobStatus::Running => "did not finish",
    }
}

/// Values for required hyperparameters that declare no default: the first choice, or a
/// small value of the type.
fn sample_values(version: &trainer_versions::Model) -> Map<String, Value> {
    version
        .hyperparameters
        .0
        .iter()
        .filter(|p| p.required && p.default.as_ref().is_none_or(Value::is_null))
        .map(|p| {
            let value = p.choices.first().cloned().unwrap_or(match p.param_type {
                ParamType::Int => json!(1),
                ParamType::Float => json!(0.01),
                ParamType::Bool => json!(false),
                ParamType::Str => json!("keynet"),
            });
            (p.name.clone(), value)
        })
        .collect()
}

/// Queues the version's check again when one of its compliance jobs ended. Called in
/// the transaction that ends the job.
pub(crate) async fn compliance_job_ended(
    tx: &DatabaseTransaction,
    job: &jobs::Model,
) -> keynet_domain::Result<()> {
    let validation = match job.kind {
        JobKind::Validation => true,
        JobKind::Inference => match job.source_job_id {
            Some(source) => jobs::Entity::find_by_id(source)
                .one(tx)
                .await?
                .is_some_and(|s| s.kind == JobKind::Validation),
            None => false,
        },
        JobKind::Training | JobKind::Export => false,
    };
    if validation {
        tasks::enqueue(
            tx,
            CHECK_TRAINER_VERSION,
            json!({"version_id": job.trainer_version_id}),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]
mod tests {
    use super::in_contract_order;

    fn kinds(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| (*k).to_string()).collect()
    }

    #[test]
    fn the_contract_order_allows_events_between() {
        let reported = kinds(&[
            "started",
            "log",
            "progress",
            "progress",
            "checkpoint",
            "log",
            "checkpoint",
            "completed",
        ]);
        assert_eq!(in_contract_order(&reported), Ok(()));
    }

    #[test]
    fn a_missing_or_misplaced_event_is_named() {
        let no_checkpoint = kinds(&["started", "progress", "completed"]);
        let error = in_contract_order(&no_checkpoint).unwrap_err();
        assert!(
            error.contains("it reported started, progress, completed"),
            "{error}"
        );
        let checkpoint_first = kinds(&["checkpoint", "started", "progress", "completed"]);
        assert!(in_contract_order(&checkpoint_first).is_err());
        assert!(
            in_contract_order(&[])
                .unwrap_err()
                .contains("reported nothing")
        );
    }
}
