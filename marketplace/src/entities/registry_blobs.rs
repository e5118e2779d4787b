use sea_orm::entity::prelude::*;

/// The bytes of one digest, stored once whoever pushed them; repositories reach them
/// through their links ([`super::registry_blob_links`]).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_blobs")]
pub struct Model {
    /// `sha256:<hex>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    pub size: i64,
    /// Where the bytes are in the blob store.
    pub key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
