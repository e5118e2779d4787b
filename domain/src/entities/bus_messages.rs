use crate::ids::BusMessageId;
use sea_orm::entity::prelude::*;

/// An event too large for a `NOTIFY` payload: the notification carries only this row's id.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bus_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BusMessageId,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
