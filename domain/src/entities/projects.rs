use crate::ids::{OrgId, ProjectId, UserId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    #[sea_orm(string_value = "classification")]
    Classification,
    #[sea_orm(string_value = "detection")]
    Detection,
    #[sea_orm(string_value = "segmentation")]
    Segmentation,
    #[sea_orm(string_value = "pose")]
    Pose,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ProjectId,
    pub org_id: OrgId,
    pub title: String,
    pub summary: String,
    pub task_type: TaskType,
    pub created_by: Option<UserId>,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
