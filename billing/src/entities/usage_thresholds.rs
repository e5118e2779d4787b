use keynet_domain::ids::OrgId;
use sea_orm::entity::prelude::*;

/// A quota threshold already announced for a period, so it is announced once.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_thresholds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: OrgId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period_start: DateTimeUtc,
    #[sea_orm(primary_key, auto_increment = false)]
    pub quota: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub percent: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
