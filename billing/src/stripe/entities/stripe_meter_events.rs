use crate::meters::Meter;
use keynet_domain::ids::OrgId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Outcome {
    /// Stripe accepted the meter event.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Never sent: Stripe would refuse it (`reason` says why), so it is not retried.
    #[sea_orm(string_value = "refused")]
    Refused,
}

/// What was sent to Stripe for one usage event, or why it never will be.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_meter_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub usage_event_id: Uuid,
    pub org_id: OrgId,
    pub meter: Meter,
    pub event_name: String,
    /// The usage event's idempotency key: Stripe keeps one event per identifier.
    pub identifier: String,
    pub stripe_customer_id: Option<String>,
    pub value: i64,
    /// The usage event's `occurred_at`, sent as the meter event's timestamp.
    pub event_time: DateTimeUtc,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
