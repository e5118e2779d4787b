use crate::entities::datasets::TaskTypes;
use crate::ids::{OrgId, TrainerId, TrainerVersionId, UserId};
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Names(pub Vec<String>);

/// A trainer of an organization; what runs is one of its immutable versions. While
/// `published_version_id` is set the trainer is listed in the marketplace, and other
/// organizations' jobs may run its READY versions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trainers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TrainerId,
    pub org_id: OrgId,
    pub name: String,
    pub slug: String,
    pub description: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub task_types: TaskTypes,
    #[sea_orm(column_type = "JsonBinary")]
    pub frameworks: Names,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The READY version the listing features.
    pub published_version_id: Option<TrainerVersionId>,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
