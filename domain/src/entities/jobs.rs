use crate::entities::projects::TaskType;
use crate::ids::{
    ExperimentId, InferenceUploadId, JobId, OrgId, ProjectId, SnapshotId, TrainerVersionId, UserId,
};
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    #[sea_orm(string_value = "training")]
    Training,
    #[sea_orm(string_value = "inference")]
    Inference,
    #[sea_orm(string_value = "export")]
    Export,
    /// The marketplace's compliance run of a new trainer version.
    #[sea_orm(string_value = "validation")]
    Validation,
}

impl JobKind {
    /// The value of `JOB_KIND` in the trainer contract.
    pub fn contract_name(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inference",
            JobKind::Export => "export",
            JobKind::Validation => "validation",
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    #[sea_orm(string_value = "best")]
    Best,
    #[sea_orm(string_value = "last")]
    Last,
}

/// The basic configuration every trainer understands (`EPOCHS`, `BATCH_SIZE`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct JobConfig {
    pub epochs: i32,
    pub batch_size: i32,
    pub learning_rate: f64,
    pub imgsz: i32,
    pub device: String,
}

/// What the job asks of the executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Resources {
    pub gpus: i32,
    pub cpus: f64,
    pub memory_mb: i64,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub experiment_id: Option<ExperimentId>,
    pub trainer_version_id: TrainerVersionId,
    pub snapshot_id: Option<SnapshotId>,
    /// For inference on one uploaded image instead of a snapshot.
    pub inference_upload_id: Option<InferenceUploadId>,
    /// The training job whose checkpoint an inference or export job uses.
    pub source_job_id: Option<JobId>,
    pub retry_of_id: Option<JobId>,
    pub kind: JobKind,
    pub status: JobStatus,
    pub model_name: String,
    pub task_type: TaskType,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: JobConfig,
    #[sea_orm(column_type = "JsonBinary")]
    pub advanced_config: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub hyperparameters: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub resources: Resources,
    pub max_runtime_seconds: i32,
    pub checkpoint: Option<CheckpointKind>,
    pub export_format: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    /// Which run of the job this is; events, logs and metrics are kept per attempt and only
    /// the current attempt may change the job.
    pub attempt: i32,
    pub executor: Option<String>,
    pub current_epoch: Option<i32>,
    pub total_epochs: Option<i32>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub latest_metrics: Option<Json>,
    pub best_epoch: Option<i32>,
    pub best_metric: Option<String>,
    pub best_metric_value: Option<f64>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub final_metrics: Option<Json>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// The number of events stored so far: `job.events(after)` and `jobEvents(afterSeq)`
    /// page by it.
    pub last_seq: i64,
    /// The job's own credential for the HTTP event transport, hashed.
    pub token_hash: String,
    pub cancel_requested: bool,
    pub runtime_ms: i64,
    pub created_by: Option<UserId>,
    /// `client:<key>` for a start with the client's idempotency key, `retry:<job id>` for a
    /// retry; unique per organization, so neither is ever queued twice.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request's inputs: tells a replay from another request under the key.
    pub request_fingerprint: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
