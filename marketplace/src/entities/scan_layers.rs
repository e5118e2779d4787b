use sea_orm::entity::prelude::*;

/// The scan of one layer, by its digest: the same bytes scan the same way, so a base layer
/// shared by many images is read once.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scan_layers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    /// A `keynet_scan::LayerScan`.
    #[sea_orm(column_type = "JsonBinary")]
    pub result: Json,
    pub scanned_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
