use crate::ids::{ArtifactId, JobId, OrgId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ArtifactKind {
    #[sea_orm(string_value = "checkpoint_best")]
    BestCheckpoint,
    #[sea_orm(string_value = "checkpoint_last")]
    LastCheckpoint,
    #[sea_orm(string_value = "predictions")]
    Predictions,
    #[sea_orm(string_value = "export")]
    Export,
}

/// A file a job produced, kept in the blob store: one per kind and job (a newer best or
/// last checkpoint replaces the older one).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "job_artifacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ArtifactId,
    pub org_id: OrgId,
    pub job_id: JobId,
    pub kind: ArtifactKind,
    pub format: Option<String>,
    pub epoch: Option<i32>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metrics: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    pub blob_key: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
