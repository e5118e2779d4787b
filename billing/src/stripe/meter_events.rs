//! The ledger's usage sent to Stripe as meter events. A usage event is marked sent only
//! after Stripe accepted it; one that failed stays unsent and goes again next round. Each
//! goes with its idempotency key as Stripe's `identifier` (and Idempotency-Key), so one
//! sent twice — a lost answer, two worker hosts in the same round — counts once.

use super::client::{MeterEvent, StripeApi};
use super::entities::stripe_meter_events::{self, Outcome};
use super::event_name;
use crate::config::StripeConfig;
use crate::entities::usage_events;
use crate::error::{Error, Result};
use crate::service::Billing;
use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, stream};
use keynet_domain::ids::OrgId;
use keynet_domain::time::now;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use uuid::Uuid;

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub sent: usize,
    /// Not sent this round (Stripe failed or was unreachable); sent again next round.
    pub failed: usize,
    /// Never sendable (older than Stripe takes): recorded with the reason, not retried.
    pub refused: usize,
}

/// Usage events read per batch.
const BATCH: u64 = 100;
/// Batches per round, so one round stays short; the rest goes next round.
const MAX_BATCHES: usize = 20;
/// Meter events in flight at once.
const CONCURRENCY: usize = 4;
/// Stripe takes meter events up to 35 days old; the hour of margin keeps one from being
/// refused while it is on its way.
fn max_age() -> Duration {
    Duration::days(35) - Duration::hours(1)
}
/// Stripe's limit on an `identifier`.
const MAX_IDENTIFIER_LEN: usize = 100;

impl Billing {
    /// Sends the usage not sent yet (credited usage is never sent). Run by the workers every
    /// `sync_interval_secs` when Stripe is configured.
    pub async fn push_usage_to_stripe(&self) -> Result<PushReport> {
        let stripe = self.stripe_config()?;
        let api = StripeApi::new(stripe)?;
        let mut report = PushReport::default();
        // The customer of each organization met this round; `None` when it could not be had.
        let mut customers = HashMap::new();
        let mut after: Option<Uuid> = None;
        for _ in 0..MAX_BATCHES {
            let batch = unsent(self.domain().db(), after).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            let done = self.push_batch(&api, stripe, batch, &mut customers).await?;
            report.sent += done.sent;
            report.failed += done.failed;
            report.refused += done.refused;
            if done.sent == 0 && done.failed > 0 {
                // Nothing got through: Stripe is most likely down; spare it the rest.
                break;
            }
        }
        Ok(report)
    }

    async fn push_batch(
        &self,
        api: &StripeApi,
        stripe: &StripeConfig,
        batch: Vec<usage_events::Model>,
        customers: &mut HashMap<OrgId, Option<String>>,
    ) -> Result<PushReport> {
        let at = now();
        let mut refused = Vec::new();
        let mut sendable = Vec::new();
        for event in batch {
            match refusal(&event, at) {
                Some(reason) => refused.push((event, reason)),
                None => sendable.push(event),
            }
        }
        for event in &sendable {
            if let Entry::Vacant(slot) = customers.entry(event.org_id) {
                let customer = self
                    .stripe_customer(api, event.org_id, None)
                    .await
                    .inspect_err(|e| {
                        tracing::warn!(org = %event.org_id, error = %e, "no Stripe customer; the organization's usage waits for the next round");
                    })
                    .ok();
                slot.insert(customer);
            }
        }
        // Built in a plain loop: a stream of closures borrowing the batch trips the
        // compiler's `Send` check of the spawned worker future.
        let mut sends = Vec::with_capacity(sendable.len());
        for event in &sendable {
            let customer = customers.get(&event.org_id).and_then(Option::as_deref);
            sends.push(send(api, stripe, event, customer));
        }
        let outcomes: Vec<_> = stream::iter(sends)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;

        let mut report = PushReport::default();
        let mut rows = Vec::new();
        let mut sent = Vec::new();
        for (event, customer, result) in outcomes {
            match result {
                Ok(()) => {
                    sent.push(event.id);
                    let customer = customer.map(str::to_string);
                    rows.push(record(event, stripe, customer, Outcome::Sent, None, at));
                }
                Err(e) => {
                    // One line per batch: when Stripe fails, it fails them all alike.
                    if report.failed == 0 {
                        tracing::warn!(org = %event.org_id, usage_event = %event.id, error = %e, "a meter event was not sent; it goes again next round");
                    }
                    report.failed += 1;
                }
            }
        }
        for (event, reason) in refused {
            tracing::warn!(org = %event.org_id, usage_event = %event.id, meter = event.meter.name(), %reason, "usage that Stripe would refuse is not sent");
            rows.push(record(
                &event,
                stripe,
                None,
                Outcome::Refused,
                Some(reason),
                at,
            ));
            report.refused += 1;
        }
        report.sent = sent.len();
        self.mark(&sent, rows, at).await?;
        Ok(report)
    }

    /// Marks the usage Stripe accepted and records every outcome, in one transaction.
    async fn mark(
        &self,
        sent: &[Uuid],
        rows: Vec<stripe_meter_events::ActiveModel>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.domain().begin().await?;
        if !sent.is_empty() {
            usage_events::Entity::update_many()
                .col_expr(usage_events::Column::StripeSentAt, Expr::value(at))
                .filter(usage_events::Column::Id.is_in(sent.iter().copied()))
                .filter(usage_events::Column::StripeSentAt.is_null())
                .exec(&*tx)
                .await?;
        }
        // Two hosts pushing at once may both record an event: the first record stays.
        stripe_meter_events::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(stripe_meter_events::Column::UsageEventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&*tx)
            .await?;
        self.domain().commit(tx).await?;
        Ok(())
    }
}

async fn send<'a>(
    api: &StripeApi,
    stripe: &StripeConfig,
    event: &'a usage_events::Model,
    customer: Option<&'a str>,
) -> (&'a usage_events::Model, Option<&'a str>, Result<()>) {
    let Some(customer) = customer else {
        return (
            event,
            None,
            Err(Error::Stripe(
                "the organization has no Stripe customer".into(),
            )),
        );
    };
    let result = api
        .send_meter_event(&MeterEvent {
            event_name: event_name(&stripe.meter_events, event.meter),
            customer,
            value: event.quantity,
            identifier: &event.idempotency_key,
            timestamp: event.occurred_at,
        })
        .await;
    (event, Some(customer), result)
}

/// The next batch of usage to send after `after`: not sent, not credited, not refused.
async fn unsent(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
) -> Result<Vec<usage_events::Model>> {
    let mut query = usage_events::Entity::find()
        .filter(usage_events::Column::StripeSentAt.is_null())
        .filter(usage_events::Column::Credited.eq(false))
        .filter(
            usage_events::Column::Id.not_in_subquery(
                Query::select()
                    .column(stripe_meter_events::Column::UsageEventId)
                    .from(stripe_meter_events::Entity)
                    .and_where(stripe_meter_events::Column::Outcome.eq(Outcome::Refused))
                    .to_owned(),
            ),
        );
    if let Some(after) = after {
        query = query.filter(usage_events::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(usage_events::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Why Stripe would refuse the event, if it would.
fn refusal(event: &usage_events::Model, at: DateTime<Utc>) -> Option<String> {
    if event.occurred_at < at - max_age() {
        return Some(format!(
            "occurred at {}, more than 35 days ago: Stripe takes no older meter events",
            event.occurred_at.to_rfc3339()
        ));
    }
    if event.idempotency_key.len() > MAX_IDENTIFIER_LEN {
        return Some(format!(
            "the idempotency key is longer than the {MAX_IDENTIFIER_LEN} characters Stripe takes as an identifier"
        ));
    }
    None
}

fn record(
    event: &usage_events::Model,
    stripe: &StripeConfig,
    customer: Option<String>,
    outcome: Outcome,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> stripe_meter_events::ActiveModel {
    stripe_meter_events::ActiveModel {
        usage_event_id: Set(event.id),
        org_id: Set(event.org_id),
        meter: Set(event.meter),
        event_name: Set(event_name(&stripe.meter_events, event.meter).to_string()),
        identifier: Set(event.idempotency_key.clone()),
        stripe_customer_id: Set(customer),
        value: Set(event.quantity),
        event_time: Set(event.occurred_at),
        outcome: Set(outcome),
        reason: Set(reason),
        recorded_at: Set(at),
    }
}
