use crate::entities::datasets::SplitConfig;
use crate::ids::{DatasetId, OrgId, SnapshotId, UserId};
use sea_orm::entity::prelude::*;

/// An immutable, numbered version of a dataset: membership, splits and annotations frozen
/// in a manifest that refers to files by content hash. Jobs only ever use snapshots.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SnapshotId,
    pub org_id: OrgId,
    pub dataset_id: DatasetId,
    pub version: i32,
    pub note: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub split_config: SplitConfig,
    pub manifest_key: String,
    pub image_count: i64,
    pub size_bytes: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
