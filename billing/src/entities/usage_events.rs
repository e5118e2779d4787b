use crate::meters::Meter;
use keynet_domain::ids::{
    DeploymentId, DeploymentKeyId, ExperimentId, JobId, OrgId, ProjectId, TrainerVersionId,
};
use sea_orm::entity::prelude::*;

/// One metered fact. Append-only: a correction is a new row, never an update (only
/// `stripe_sent_at` is set once the row was sent to Stripe).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: OrgId,
    pub meter: Meter,
    pub quantity: i64,
    /// Derived from the source (e.g. `job:<id>:attempt:<n>:gpu_seconds`): the same fact
    /// reported twice is one row.
    pub idempotency_key: String,
    pub occurred_at: DateTimeUtc,
    pub project_id: Option<ProjectId>,
    pub experiment_id: Option<ExperimentId>,
    pub job_id: Option<JobId>,
    pub trainer_version_id: Option<TrainerVersionId>,
    /// The organization that owns the trainer used (its author), for earnings.
    pub trainer_org_id: Option<OrgId>,
    pub deployment_id: Option<DeploymentId>,
    pub deployment_key_id: Option<DeploymentKeyId>,
    /// Metered but not charged (the platform's fault, or the platform's own work).
    pub credited: bool,
    pub credit_reason: Option<String>,
    pub stripe_sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
