use crate::plans::PlanName;
use keynet_domain::ids::OrgId;
use sea_orm::entity::prelude::*;

/// From `effective_at` on (until the next change), `plan` is the plan `org_id` is charged.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "billing_plan_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: OrgId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub effective_at: DateTimeUtc,
    pub plan: PlanName,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
