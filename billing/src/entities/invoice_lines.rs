use crate::meters::Meter;
use sea_orm::entity::prelude::*;

/// `amount = round(quantity × unit_price / unit_price_per)`, in minor units: a price per
/// GPU-hour applies to GPU-seconds without a fractional price.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub position: i32,
    /// `None` for the plan's fee.
    pub meter: Option<Meter>,
    pub description: String,
    pub quantity: i64,
    pub credited_quantity: i64,
    pub unit_price: i64,
    pub unit_price_per: i64,
    pub amount: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
