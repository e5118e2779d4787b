use crate::ids::{DeploymentId, DeploymentKeyId, OrgId, UserId};
use sea_orm::entity::prelude::*;

/// A key that may call one deployment: `kdk_…`, shown once, stored as a hash with a lookup
/// prefix like API tokens. Two keys valid at once make a rotation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deployment_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeploymentKeyId,
    pub org_id: OrgId,
    pub deployment_id: DeploymentId,
    pub name: String,
    #[sea_orm(unique)]
    pub prefix: String,
    pub key_hash: String,
    /// The key's own rate limit; `None`: only the plan's quota applies.
    pub requests_per_second: Option<i32>,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
