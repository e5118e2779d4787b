use crate::meters::Meter;
use keynet_domain::ids::OrgId;
use sea_orm::entity::prelude::*;

/// The last comparison of one organization's meter in Stripe with the ledger.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_reconciliations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: OrgId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub meter: Meter,
    pub period_start: DateTimeUtc,
    /// Exclusive; the current period is compared up to the minute of the check.
    pub period_end: DateTimeUtc,
    /// The ledger's sum of the usage sent to Stripe in the period.
    pub ledger_quantity: i64,
    /// Stripe's meter event summary for the customer in the period.
    pub stripe_quantity: i64,
    pub checked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
