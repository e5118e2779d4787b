use crate::ids::{ExperimentId, ExperimentStarId, OrgId, UserId};
use sea_orm::entity::prelude::*;

/// A user's star on an experiment: stars are personal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "experiment_stars")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ExperimentStarId,
    pub org_id: OrgId,
    pub experiment_id: ExperimentId,
    pub user_id: UserId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
