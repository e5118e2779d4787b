//! Stripe's meter totals against the ledger. For each organization with a Stripe customer
//! and each meter, Stripe's meter event summary for the current period is compared with the
//! ledger's sum of the usage sent to Stripe in the same window. Every comparison is kept (the
//! latest per organization and meter); the ones that differ are drift, logged and shown to
//! the organization's admins. Stripe aggregates meter events asynchronously, so usage sent a
//! moment before a check may show as drift once; drift that stays is real.

use super::client::StripeApi;
use super::entities::stripe_reconciliations;
use super::event_name;
use crate::entities::{billing_accounts, usage_events};
use crate::error::Result;
use crate::meters::Meter;
use crate::periods::Period;
use crate::service::Billing;
use crate::totals::{charged, total};
use chrono::{DateTime, Utc};
use keynet_domain::Viewer;
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;
use keynet_domain::time::now;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::BTreeSet;

/// A meter whose total in Stripe differs from the ledger's.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    pub org_id: OrgId,
    pub meter: Meter,
    pub period_start: DateTime<Utc>,
    /// Exclusive: the check compares up to the minute it ran in.
    pub period_end: DateTime<Utc>,
    /// The ledger's sum of the usage sent to Stripe.
    pub ledger_quantity: i64,
    pub stripe_quantity: i64,
    pub checked_at: DateTime<Utc>,
}

impl From<stripe_reconciliations::Model> for Drift {
    fn from(row: stripe_reconciliations::Model) -> Self {
        Self {
            org_id: row.org_id,
            meter: row.meter,
            period_start: row.period_start,
            period_end: row.period_end,
            ledger_quantity: row.ledger_quantity,
            stripe_quantity: row.stripe_quantity,
            checked_at: row.checked_at,
        }
    }
}

impl Billing {
    /// Compares every customer's meters for the current period; returns the drift found.
    pub async fn reconcile_stripe(&self) -> Result<Vec<Drift>> {
        let stripe = self.stripe_config()?;
        let db = self.domain().db();
        let customers: Vec<(OrgId, String)> = billing_accounts::Entity::find()
            .select_only()
            .column(billing_accounts::Column::OrgId)
            .column(billing_accounts::Column::StripeCustomerId)
            .filter(billing_accounts::Column::StripeCustomerId.is_not_null())
            .order_by_asc(billing_accounts::Column::OrgId)
            .into_tuple()
            .all(db)
            .await?;
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let api = StripeApi::new(stripe)?;
        let meters = api.meters().await?;
        let at = now();
        let period = Period::containing(at);
        // Stripe's summaries take minute boundaries.
        let end = period.end.min(next_minute(at));
        let mut missing = BTreeSet::new();
        let mut drift = Vec::new();
        for (org, customer) in customers {
            for meter in Meter::ALL {
                let name = event_name(&stripe.meter_events, meter);
                let Some(meter_id) = meters.get(name) else {
                    missing.insert(name);
                    continue;
                };
                let stripe_total = match api
                    .meter_total(meter_id, &customer, period.start, end)
                    .await
                {
                    Ok(total) => total.round() as i64,
                    Err(e) => {
                        tracing::warn!(%org, meter = meter.name(), error = %e, "Stripe's meter summary could not be read; compared next time");
                        continue;
                    }
                };
                let ledger_total = sent_total(db, org, meter, period.start, end).await?;
                let row = stripe_reconciliations::Model {
                    org_id: org,
                    meter,
                    period_start: period.start,
                    period_end: end,
                    ledger_quantity: ledger_total,
                    stripe_quantity: stripe_total,
                    checked_at: at,
                };
                store(db, row.clone()).await?;
                if ledger_total != stripe_total {
                    tracing::warn!(
                        %org,
                        meter = meter.name(),
                        ledger = ledger_total,
                        stripe = stripe_total,
                        period_start = %period.start,
                        "Stripe's meter total differs from the ledger"
                    );
                    drift.push(row.into());
                }
            }
        }
        if !missing.is_empty() {
            tracing::warn!(event_names = ?missing, "no Stripe meter has these event names (billing.stripe.meter_events); their usage is not compared");
        }
        Ok(drift)
    }

    /// The drift the last reconciliation found for the organization; admins and owners.
    pub async fn stripe_drift(&self, viewer: &Viewer, org: OrgId) -> Result<Vec<Drift>> {
        viewer.require(org, Permission::ManageBilling)?;
        let rows = stripe_reconciliations::Entity::find()
            .filter(stripe_reconciliations::Column::OrgId.eq(org))
            .filter(
                Expr::col(stripe_reconciliations::Column::LedgerQuantity)
                    .ne(Expr::col(stripe_reconciliations::Column::StripeQuantity)),
            )
            .order_by_asc(stripe_reconciliations::Column::Meter)
            .all(self.domain().db())
            .await?;
        Ok(rows.into_iter().map(Drift::from).collect())
    }
}

/// The ledger's total of `meter` sent to Stripe for `org` in `[from, to)`.
async fn sent_total(
    db: &impl ConnectionTrait,
    org: OrgId,
    meter: Meter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    let sent =
        charged(org, meter, from, to).filter(usage_events::Column::StripeSentAt.is_not_null());
    total(db, sent).await
}

/// Keeps the latest comparison per organization and meter.
async fn store(db: &impl ConnectionTrait, row: stripe_reconciliations::Model) -> Result<()> {
    use stripe_reconciliations::Column;
    stripe_reconciliations::Entity::insert(stripe_reconciliations::ActiveModel {
        org_id: Set(row.org_id),
        meter: Set(row.meter),
        period_start: Set(row.period_start),
        period_end: Set(row.period_end),
        ledger_quantity: Set(row.ledger_quantity),
        stripe_quantity: Set(row.stripe_quantity),
        checked_at: Set(row.checked_at),
    })
    .on_conflict(
        OnConflict::columns([Column::OrgId, Column::Meter])
            .update_columns([
                Column::PeriodStart,
                Column::PeriodEnd,
                Column::LedgerQuantity,
                Column::StripeQuantity,
                Column::CheckedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The first minute boundary after `at`.
fn next_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let minute = at.timestamp().div_euclid(60) + 1;
    DateTime::from_timestamp(minute * 60, 0).unwrap_or(at)
}
