use crate::entities::jobs::{CheckpointKind, Resources};
use crate::ids::{ArtifactId, DeploymentId, JobId, OrgId, ProjectId, UserId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// How a deployment runs its model. Only `Onnx` exists yet; the trainer image in its serve
/// mode is the next runtime, and plugs in as another variant with its own replica kind.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Runtime {
    /// Keynet runs the exported ONNX model itself, in the worker that holds the replica.
    #[sea_orm(string_value = "onnx")]
    Onnx,
}

/// `Pending` (its export is being made) → `Starting` → `Ready` ⇄ `ScaledToZero`; `Stopped`
/// by a person; `Failed` with a reason a person can act on.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeploymentStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "starting")]
    Starting,
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "scaled_to_zero")]
    ScaledToZero,
    #[sea_orm(string_value = "stopped")]
    Stopped,
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl DeploymentStatus {
    /// Whether replicas should exist (or be started on demand) in this status.
    pub fn wants_replicas(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Starting | DeploymentStatus::Ready | DeploymentStatus::ScaledToZero
        )
    }
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deployments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeploymentId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub name: String,
    pub runtime: Runtime,
    /// The job the model comes from: an export job, or the training job whose checkpoint
    /// `source_checkpoint` was exported for the deployment.
    pub source_job_id: JobId,
    pub source_checkpoint: Option<CheckpointKind>,
    /// The export job that makes the model, when the source was a checkpoint.
    pub export_job_id: Option<JobId>,
    /// The ONNX export served; set once the export exists.
    pub artifact_id: Option<ArtifactId>,
    pub status: DeploymentStatus,
    pub status_reason: Option<String>,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub max_batch_size: i32,
    pub max_queue_delay_ms: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub resources: Resources,
    pub idle_seconds_before_scale_to_zero: i32,
    /// When a request last came (kept at a coarse resolution), for scale to zero.
    pub last_request_at: Option<DateTimeUtc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
