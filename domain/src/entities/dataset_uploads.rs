use crate::ids::{DatasetId, DatasetUploadId, OrgId, UserId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    #[sea_orm(string_value = "awaiting_upload")]
    AwaitingUpload,
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "importing")]
    Importing,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DatasetUploadId,
    pub org_id: OrgId,
    pub dataset_id: DatasetId,
    pub filename: String,
    pub declared_size: i64,
    pub blob_key: String,
    pub status: UploadStatus,
    pub error_count: i32,
    pub errors_truncated: bool,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
