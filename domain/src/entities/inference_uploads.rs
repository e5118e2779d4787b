use crate::ids::{InferenceUploadId, OrgId, ProjectId, UserId};
use sea_orm::entity::prelude::*;

/// An image uploaded through a signed URL to run inference on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inference_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InferenceUploadId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub filename: String,
    pub size_bytes: i64,
    pub blob_key: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
