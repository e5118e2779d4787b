use crate::ids::{DeploymentId, OrgId, ReplicaId, ServingHostId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ReplicaStatus {
    /// Claimed; the host is loading the model.
    #[sea_orm(string_value = "starting")]
    Starting,
    #[sea_orm(string_value = "ready")]
    Ready,
}

/// One copy of a deployment's model on a worker host. `slot` is unique per deployment, so
/// two hosts cannot both claim the same replica; a row whose heartbeat is older than the
/// lease belongs to a host that is gone, and its slot is free again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deployment_replicas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ReplicaId,
    pub org_id: OrgId,
    pub deployment_id: DeploymentId,
    pub slot: i32,
    pub host_id: ServingHostId,
    /// Where other instances reach the host's replicas (`http://host:port`); `None` for a
    /// host that serves only its own process.
    pub address: Option<String>,
    pub status: ReplicaStatus,
    /// Requests queued or running on it at its last heartbeat (the most seen since the one
    /// before): what the autoscaler reads.
    pub load: i32,
    pub started_at: DateTimeUtc,
    pub ready_at: Option<DateTimeUtc>,
    pub heartbeat_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
