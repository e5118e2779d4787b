use crate::plans::PlanName;
use keynet_domain::ids::OrgId;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "uncollectible")]
    Uncollectible,
    #[sea_orm(string_value = "void")]
    Void,
}

/// Amounts in integer minor units of `currency` (cents for USD).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: OrgId,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub plan: PlanName,
    pub currency: String,
    pub status: InvoiceStatus,
    pub subtotal: i64,
    /// What the credited usage would have cost: shown, not charged.
    pub credits: i64,
    pub total: i64,
    pub stripe_invoice_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
