use keynet_domain::ids::{OrgId, TrainerId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub trainer_id: TrainerId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag: String,
    pub org_id: OrgId,
    pub digest: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
