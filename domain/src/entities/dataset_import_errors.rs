use crate::ids::{DatasetUploadId, ImportErrorId, OrgId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset_import_errors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ImportErrorId,
    pub org_id: OrgId,
    pub upload_id: DatasetUploadId,
    /// The file in the upload the problem is about.
    pub file: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
