use crate::ids::{BlobId, OrgId};
use sea_orm::entity::prelude::*;

/// A file stored once per organization under its content hash; datasets and snapshots
/// refer to it by hash, so unchanged files are shared between versions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BlobId,
    pub org_id: OrgId,
    pub sha256: String,
    pub size: i64,
    pub key: String,
    pub created_at: DateTimeUtc,
    /// The last time an import or snapshot stored it again (found it already there).
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
