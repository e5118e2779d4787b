use keynet_domain::ids::{OrgId, TrainerId};
use sea_orm::entity::prelude::*;

/// A manifest or index as pushed, byte for byte: its digest is over these exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_manifests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub trainer_id: TrainerId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    pub org_id: OrgId,
    pub media_type: String,
    pub content: String,
    pub size: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
