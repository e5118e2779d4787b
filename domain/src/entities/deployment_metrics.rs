use crate::ids::{DeploymentId, OrgId};
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Who wrote a sample: an API instance (requests, errors, latency) or a host (batches,
/// queue depth, replicas).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SampleSource {
    #[sea_orm(string_value = "endpoint")]
    Endpoint,
    #[sea_orm(string_value = "host")]
    Host,
}

/// Counts by name: errors by class, latency by bucket (upper bound in ms), batches by size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Counts(pub BTreeMap<String, i64>);

/// What one writer saw of a deployment over one interval ending at `at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deployment_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: OrgId,
    pub deployment_id: DeploymentId,
    pub at: DateTimeUtc,
    pub source: SampleSource,
    /// The API instance or host that wrote it.
    pub writer: Uuid,
    pub requests: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub errors: Counts,
    #[sea_orm(column_type = "JsonBinary")]
    pub latency: Counts,
    #[sea_orm(column_type = "JsonBinary")]
    pub batches: Counts,
    pub queue_depth: i32,
    pub replicas: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
