use keynet_domain::ids::{OrgId, TrainerId, UserId};
use sea_orm::entity::prelude::*;

/// A user's rating (1 to 5) and review of a listed trainer: one per user, replaced when the
/// user rates again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trainer_ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub trainer_id: TrainerId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    /// The user's organization that ran the trainer, which entitled them to rate it.
    pub org_id: OrgId,
    pub rating: i32,
    pub review: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
