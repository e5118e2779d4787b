use keynet_domain::ids::{OrgId, UserId};
use sea_orm::entity::prelude::*;

/// An organization's scan policy (a `keynet_scan::vuln::policy::Policy` as JSON).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scan_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: OrgId,
    #[sea_orm(column_type = "JsonBinary")]
    pub policy: Json,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
