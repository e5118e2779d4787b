use crate::ids::{ApiTokenId, OrgId, UserId};
use crate::roles::ScopeSet;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ApiTokenId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    /// The token's first characters, shown to the user and used to find the row.
    #[sea_orm(unique)]
    pub prefix: String,
    pub token_hash: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
