use keynet_domain::ids::{OrgId, TrainerId};
use sea_orm::entity::prelude::*;

/// A blob a repository (a trainer) has: uploaded to it or mounted into it. A digest another
/// repository holds is unknown here until it is linked, so a push never learns what other
/// organizations store.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_blob_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub trainer_id: TrainerId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    pub org_id: OrgId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
