//! Stripe's webhook events (`POST /webhooks/stripe`): invoices paid or failed and
//! subscription changes move the organization's account. Each event id is processed once
//! (it is recorded in the same transaction as its change), and an event created before the
//! one that last set the account's status does not undo it.
//!
//! The body is read with a few serde structs of the fields used, not a typed copy of
//! Stripe's objects: those would need every field of one API version, so an event rendered
//! with another version would be refused, and Stripe would give up on it.

use super::signature;
use crate::entities::billing_accounts::{self, AccountStatus};
use crate::entities::invoices::{self, InvoiceStatus};
use crate::entities::stripe_events;
use crate::error::{Error, Result};
use crate::plan_history;
use crate::plans::PlanName;
use crate::service::Billing;
use chrono::{DateTime, Utc};
use keynet_domain::Change;
use keynet_domain::Tx;
use keynet_domain::time::now;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set,
};
use serde::Deserialize;
use serde_json::json;

/// What became of a webhook event; every one is answered 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The account (or an invoice) changed, or was confirmed as it was.
    Applied,
    /// Older than the event that last set the account's status: recorded, not applied.
    Stale,
    /// This event id was processed before.
    Duplicate,
    /// A type Keynet does not act on, or a customer it does not know.
    Ignored,
}

impl WebhookOutcome {
    pub fn name(self) -> &'static str {
        match self {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Stale => "stale",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
        }
    }
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    type_: String,
    created: i64,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// An id, or the object it stands for when the event expanded it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Reference {
    Id(String),
    Object { id: String },
}

impl Reference {
    fn id(self) -> String {
        match self {
            Reference::Id(id) | Reference::Object { id } => id,
        }
    }
}

#[derive(Deserialize)]
struct InvoiceObject {
    id: String,
    customer: Reference,
}

#[derive(Deserialize)]
struct SubscriptionObject {
    id: String,
    customer: Reference,
    status: String,
    items: SubscriptionItems,
}

#[derive(Deserialize)]
struct SubscriptionItems {
    data: Vec<SubscriptionItem>,
}

#[derive(Deserialize)]
struct SubscriptionItem {
    price: Reference,
}

/// What an event says about a customer.
enum Fact {
    InvoicePaid {
        invoice: String,
    },
    InvoiceFailed,
    Subscription {
        id: String,
        /// Stripe's status, or `deleted` for `customer.subscription.deleted`.
        status: String,
        prices: Vec<String>,
    },
}

/// The account's fields a webhook may change.
#[derive(Clone, Debug, PartialEq)]
struct Standing {
    plan: PlanName,
    status: AccountStatus,
    payment_failed_at: Option<DateTime<Utc>>,
    subscription: Option<String>,
}

impl Billing {
    /// Verifies `signature` on the raw `payload`, then applies the event once.
    /// [`Error::Webhook`] when the signature, its age or the body is wrong: nothing changed.
    pub async fn handle_stripe_webhook(
        &self,
        payload: &[u8],
        signature: Option<&str>,
    ) -> Result<WebhookOutcome> {
        let stripe = self.stripe_config()?;
        let header = signature
            .ok_or_else(|| Error::Webhook("the Stripe-Signature header is missing".into()))?;
        signature::verify(header, payload, &stripe.webhook_secret, now().timestamp())?;
        let event: Event = serde_json::from_slice(payload)
            .map_err(|e| Error::Webhook(format!("the body is not a Stripe event: {e}")))?;
        let created = DateTime::from_timestamp(event.created, 0)
            .ok_or_else(|| Error::Webhook("the event's `created` is out of range".into()))?;
        let fact = read_fact(&event)?;

        let mut tx = self.domain().begin().await?;
        let first = stripe_events::Entity::insert(stripe_events::ActiveModel {
            id: Set(event.id.clone()),
            event_type: Set(event.type_.clone()),
            stripe_created_at: Set(created),
            received_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(stripe_events::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
        if first == 0 {
            // Dropping the transaction rolls it back: nothing to keep.
            return Ok(WebhookOutcome::Duplicate);
        }
        let outcome = match fact {
            Some((customer, fact)) => {
                self.apply(&mut tx, &event, created, &customer, fact)
                    .await?
            }
            None => WebhookOutcome::Ignored,
        };
        self.domain().commit(tx).await?;
        tracing::info!(event = %event.id, event_type = %event.type_, outcome = outcome.name(), "Stripe webhook processed");
        Ok(outcome)
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        event: &Event,
        created: DateTime<Utc>,
        customer: &str,
        fact: Fact,
    ) -> Result<WebhookOutcome> {
        let mut query = billing_accounts::Entity::find()
            .filter(billing_accounts::Column::StripeCustomerId.eq(customer));
        if tx.get_database_backend() == DbBackend::Postgres {
            // Two events of one customer take turns (SQLite's transaction holds the write
            // lock already).
            query = query.lock_exclusive();
        }
        let Some(account) = query.one(&**tx).await? else {
            tracing::warn!(event = %event.id, event_type = %event.type_, %customer, "a Stripe webhook for a customer no organization has; ignored");
            return Ok(WebhookOutcome::Ignored);
        };
        if let Fact::InvoicePaid { invoice } = &fact {
            // Paid is final whatever order the events came in.
            invoices::Entity::update_many()
                .col_expr(invoices::Column::Status, Expr::value(InvoiceStatus::Paid))
                .col_expr(invoices::Column::UpdatedAt, Expr::value(now()))
                .filter(invoices::Column::StripeInvoiceId.eq(invoice.as_str()))
                .filter(invoices::Column::OrgId.eq(account.org_id))
                .exec(&**tx)
                .await?;
        }
        if account.stripe_status_at.is_some_and(|at| created < at) {
            tracing::info!(event = %event.id, event_type = %event.type_, org = %account.org_id, "a Stripe event older than the account's status; recorded, not applied");
            return Ok(WebhookOutcome::Stale);
        }
        let before = Standing {
            plan: account.plan,
            status: account.status,
            payment_failed_at: account.payment_failed_at,
            subscription: account.stripe_subscription_id.clone(),
        };
        let Some(after) = self.next_standing(&before, fact, created) else {
            return Ok(WebhookOutcome::Ignored);
        };
        let org = account.org_id;
        let mut update = account.clone().into_active_model();
        update.plan = Set(after.plan);
        update.status = Set(after.status);
        update.payment_failed_at = Set(after.payment_failed_at);
        update.stripe_subscription_id = Set(after.subscription.clone());
        update.stripe_status_at = Set(Some(created));
        let at = now();
        update.updated_at = Set(at);
        let updated = update.update(&**tx).await?;
        // Charged from when the platform applied it, as the quotas are.
        plan_history::record_change(&**tx, &account, &updated, at).await?;
        let cause = json!({"stripeEvent": event.id, "eventType": event.type_});
        if after.status != before.status {
            Change::new(org, "billing.status_changed", "organization", org)
                .meta(json!({
                    "from": status_name(before.status),
                    "to": status_name(after.status),
                    "stripe": cause,
                }))
                .record(tx)
                .await?;
        }
        if after.plan != before.plan {
            Change::new(org, "billing.plan_changed", "organization", org)
                .meta(json!({
                    "from": before.plan.name(),
                    "to": after.plan.name(),
                    "stripe": cause,
                }))
                .record(tx)
                .await?;
        }
        Ok(WebhookOutcome::Applied)
    }

    /// The standing after `fact`; `None` when it is about another subscription than the
    /// account's.
    fn next_standing(
        &self,
        before: &Standing,
        fact: Fact,
        created: DateTime<Utc>,
    ) -> Option<Standing> {
        let mut after = before.clone();
        // The grace period counts from the first failure, not from each retry's.
        let failed_at = before.payment_failed_at.unwrap_or(created);
        match fact {
            Fact::InvoicePaid { .. } => {
                // A paid invoice settles a past-due account; it does not resubscribe a
                // canceled one.
                if after.status == AccountStatus::PastDue {
                    after.status = AccountStatus::Active;
                }
                after.payment_failed_at = None;
            }
            Fact::InvoiceFailed => {
                if after.status != AccountStatus::Canceled {
                    after.status = AccountStatus::PastDue;
                    after.payment_failed_at = Some(failed_at);
                }
            }
            Fact::Subscription { id, status, prices } => {
                let ending = matches!(
                    status.as_str(),
                    "deleted" | "canceled" | "incomplete_expired"
                );
                if ending
                    && before
                        .subscription
                        .as_deref()
                        .is_some_and(|current| current != id)
                {
                    // An old subscription ending while another one is the account's.
                    return None;
                }
                after.subscription = Some(id);
                match self.plan_of(&prices) {
                    Some(plan) => after.plan = plan,
                    None if !ending => {
                        tracing::warn!(
                            ?prices,
                            "no plan has the subscription's price (plans.*.stripe_price_id); the plan stays"
                        )
                    }
                    None => {}
                }
                match status.as_str() {
                    "active" | "trialing" => {
                        after.status = AccountStatus::Active;
                        after.payment_failed_at = None;
                    }
                    "past_due" | "unpaid" => {
                        after.status = AccountStatus::PastDue;
                        after.payment_failed_at = Some(failed_at);
                    }
                    "deleted" | "canceled" | "incomplete_expired" | "paused" => {
                        after.status = AccountStatus::Canceled;
                        after.payment_failed_at = None;
                    }
                    // `incomplete`: the first payment is under way; nothing to change yet.
                    _ => {}
                }
            }
        }
        Some(after)
    }

    /// The plan whose `stripe_price_id` is one of the subscription's prices.
    fn plan_of(&self, prices: &[String]) -> Option<PlanName> {
        [PlanName::Free, PlanName::Team, PlanName::Enterprise]
            .into_iter()
            .find(|plan| {
                self.config()
                    .plans
                    .get(*plan)
                    .stripe_price_id
                    .as_ref()
                    .is_some_and(|price| prices.contains(price))
            })
    }
}

/// The customer and what the event says, for the types Keynet acts on.
fn read_fact(event: &Event) -> Result<Option<(String, Fact)>> {
    let object = || event.data.object.clone();
    let malformed =
        |e: serde_json::Error| Error::Webhook(format!("the {} event's object: {e}", event.type_));
    Ok(Some(match event.type_.as_str() {
        "invoice.paid" => {
            let invoice: InvoiceObject = serde_json::from_value(object()).map_err(malformed)?;
            (
                invoice.customer.id(),
                Fact::InvoicePaid {
                    invoice: invoice.id,
                },
            )
        }
        "invoice.payment_failed" => {
            let invoice: InvoiceObject = serde_json::from_value(object()).map_err(malformed)?;
            (invoice.customer.id(), Fact::InvoiceFailed)
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let subscription: SubscriptionObject =
                serde_json::from_value(object()).map_err(malformed)?;
            let status = if event.type_ == "customer.subscription.deleted" {
                "deleted".to_string()
            } else {
                subscription.status
            };
            (
                subscription.customer.id(),
                Fact::Subscription {
                    id: subscription.id,
                    status,
                    prices: subscription
                        .items
                        .data
                        .into_iter()
                        .map(|item| item.price.id())
                        .collect(),
                },
            )
        }
        _ => return Ok(None),
    }))
}

fn status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::PastDue => "past_due",
        AccountStatus::Canceled => "canceled",
    }
}
