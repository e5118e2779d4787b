use crate::entities::datasets::TaskTypes;
use crate::entities::trainers::Names;
use crate::hyperparameters::HyperParameterSchema;
use crate::ids::{OrgId, TrainerId, TrainerVersionId, UserId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// How a version's workload is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// A container image, run by the Docker executor; `reference` is its image id.
    #[sea_orm(string_value = "image")]
    Image,
    /// A program on the worker host, run by the process executor; `reference` is its path.
    #[sea_orm(string_value = "local")]
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// Usable by jobs. Registered private images are ready at once; pushed ones get here
    /// through the marketplace's checks.
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trainer_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TrainerVersionId,
    pub org_id: OrgId,
    pub trainer_id: TrainerId,
    pub version: i32,
    /// The image (or program) as the user named it.
    pub image: String,
    pub runtime: Runtime,
    /// What executors run: the image id (`sha256:…`), never a movable tag; or a path.
    pub reference: String,
    pub status: VersionStatus,
    pub framework: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub hyperparameters: HyperParameterSchema,
    #[sea_orm(column_type = "JsonBinary")]
    pub task_types: TaskTypes,
    #[sea_orm(column_type = "JsonBinary")]
    pub export_formats: Names,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
