use crate::ids::{InferenceResultId, JobId, OrgId};
use sea_orm::entity::prelude::*;

/// The predictions of an inference job for one image.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inference_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InferenceResultId,
    pub org_id: OrgId,
    pub job_id: JobId,
    pub file_name: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub predictions: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
