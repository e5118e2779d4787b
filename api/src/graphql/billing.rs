//! Billing: the account (plan, status, quotas and use), usage from the ledger, invoices,
//! plan changes, the authors' earnings and the quota-threshold subscription.

use super::connection::{Conn, connection, list_complexity};
use super::context::{page, parse_id, viewer};
use super::enums::{AccountStatus, InvoiceStatus, Meter, PlanName, UsageGroupBy};
use super::live;
use super::types::id;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use keynet_billing::entities::{invoice_lines, invoices};
use keynet_billing::usage::{PeriodUsage as DomainPeriodUsage, UsageGroup as DomainUsageGroup};
use keynet_billing::{AccountView, Billing};
use keynet_domain::events::{Event, org_usage_topic};
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;
use std::sync::Arc;

pub(super) fn billing<'a>(ctx: &Context<'a>) -> &'a Billing {
    ctx.data_unchecked::<Arc<Billing>>()
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// The organization's plan, payment status, quotas and their use; admins and owners.
    async fn billing_account(&self, ctx: &Context<'_>, org_id: ID) -> ApiResult<BillingAccount> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        Ok(BillingAccount(
            billing(ctx).account(viewer(ctx)?, org).await?,
        ))
    }

    /// The usage ledger summed over `[from, to)` by the dimensions of `groupBy` (none: one
    /// total); admins and owners. At most 10,000 groups.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: Vec<UsageGroupBy>,
    ) -> ApiResult<Vec<UsageGroup>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let group_by: Vec<_> = group_by.into_iter().map(Into::into).collect();
        let groups = billing(ctx)
            .usage(viewer(ctx)?, org, from, to, &group_by)
            .await?;
        Ok(groups.into_iter().map(UsageGroup).collect())
    }

    /// Newest period first; admins and owners.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Invoice>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let found = billing(ctx)
            .invoices(viewer(ctx)?, org, &page(first, after)?)
            .await?;
        Ok(connection(found, |i| i.id, Invoice))
    }

    /// A fresh Stripe billing portal session's URL, to manage payment methods and the
    /// subscription; creates the organization's Stripe customer when it has none. Admins and
    /// owners; FORBIDDEN where Stripe is not configured.
    async fn billing_portal_url(&self, ctx: &Context<'_>, org_id: ID) -> ApiResult<String> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        Ok(billing(ctx).billing_portal_url(viewer(ctx)?, org).await?)
    }

    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Invoice> {
        let id = parse_id(&id, "id")?;
        Ok(Invoice(billing(ctx).invoice(viewer(ctx)?, id).await?))
    }

    /// Other organizations' use of this organization's trainers in `[from, to)`, per
    /// trainer, with the revenue and the author's share; admins and owners.
    async fn author_earnings(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<TrainerEarnings>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let earnings = billing(ctx)
            .author_earnings(viewer(ctx)?, org, from, to)
            .await?;
        Ok(earnings
            .into_iter()
            .map(|e| TrainerEarnings {
                trainer_id: id(e.trainer_id),
                trainer_name: e.trainer_name,
                runs: e.runs,
                gpu_seconds: e.gpu_seconds,
                cpu_seconds: e.cpu_seconds,
                revenue: e.revenue,
                author_share: e.author_share,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Owners only; quotas change at once, and invoices charge each plan of a period
    /// prorated by the time it was in force.
    async fn change_plan(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        plan: PlanName,
    ) -> ApiResult<BillingAccount> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let view = billing(ctx)
            .change_plan(viewer(ctx)?, org, plan.into())
            .await?;
        Ok(BillingAccount(view))
    }
}

#[derive(Default)]
pub struct BillingSubscription;

#[Subscription]
impl BillingSubscription {
    /// The organization's GPU-seconds of the month reaching 80 % and then 100 % of its
    /// plan's quota, once each per period; admins and owners.
    async fn usage_threshold_reached(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<UsageThreshold>> + use<>, ApiError> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let ((), guard) = live::admit(ctx, move |_, viewer| async move {
            viewer.require(org, Permission::ManageBilling).map(drop)
        })
        .await?;
        let thresholds = super::context::domain(ctx)
            .events()
            .subscribe(&org_usage_topic(org))
            .filter_map(|event| async move {
                match event {
                    Event::UsageThresholdReached(t) => Some(Ok(UsageThreshold {
                        org_id: id(t.org_id),
                        quota: t.quota,
                        percent: t.percent,
                        used: t.used,
                        limit: t.limit,
                        period_start: t.period_start,
                    })),
                    _ => None,
                }
            });
        Ok(guard.watch(thresholds))
    }
}

#[derive(SimpleObject)]
pub struct UsageThreshold {
    org_id: ID,
    /// `gpu_seconds_per_month`.
    quota: String,
    percent: i32,
    used: i64,
    limit: i64,
    period_start: DateTime<Utc>,
}

pub struct BillingAccount(AccountView);

#[Object]
impl BillingAccount {
    async fn org_id(&self) -> ID {
        id(self.0.account.org_id)
    }
    /// The plan subscribed to.
    async fn plan(&self) -> PlanName {
        self.0.account.plan.into()
    }
    /// The plan whose limits apply: the free plan's while a subscription is canceled.
    async fn effective_plan(&self) -> PlanName {
        self.0.effective_plan.into()
    }
    async fn status(&self) -> AccountStatus {
        self.0.account.status.into()
    }
    async fn payment_failed_at(&self) -> Option<DateTime<Utc>> {
        self.0.account.payment_failed_at
    }
    /// After a failed payment: when new jobs stop being accepted.
    async fn grace_ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.grace_ends_at
    }
    async fn stripe_customer_id(&self) -> Option<&str> {
        self.0.account.stripe_customer_id.as_deref()
    }
    /// The meters whose total in Stripe differed from the ledger's usage sent to Stripe at
    /// the last comparison (hourly, with Stripe configured); empty when they agree.
    async fn stripe_drift(&self, ctx: &Context<'_>) -> ApiResult<Vec<StripeDrift>> {
        let drift = billing(ctx)
            .stripe_drift(viewer(ctx)?, self.0.account.org_id)
            .await?;
        Ok(drift
            .into_iter()
            .map(|d| StripeDrift {
                meter: d.meter.into(),
                period_start: d.period_start,
                period_end: d.period_end,
                ledger_quantity: d.ledger_quantity,
                stripe_quantity: d.stripe_quantity,
                checked_at: d.checked_at,
            })
            .collect())
    }
    /// Limits of the effective plan; null is unlimited.
    async fn quotas(&self) -> Quotas {
        let plan = &self.0.limits;
        Quotas {
            concurrent_jobs: plan.concurrent_jobs,
            gpu_seconds_per_month: plan.gpu_seconds_per_month,
            storage_bytes: plan.storage_bytes,
            inference_requests_per_minute: plan.inference_requests_per_minute,
        }
    }
    /// What the quotas count now.
    async fn used(&self) -> QuotaUse {
        QuotaUse {
            concurrent_jobs: self.0.active_jobs,
            gpu_seconds_per_month: self.0.gpu_seconds_this_period,
            storage_bytes: self.0.storage_bytes,
            inference_requests_per_minute: self.0.inference_requests_last_minute,
        }
    }
    /// The effective plan's prices, in minor units of `currency`.
    async fn prices(&self, ctx: &Context<'_>) -> Prices {
        let plan = &self.0.limits;
        Prices {
            currency: billing(ctx).config().currency.clone(),
            monthly_fee: plan.monthly_fee,
            gpu_hour: plan.gpu_hour_price,
            cpu_hour: plan.cpu_hour_price,
            thousand_inference_requests: plan.inference_price_per_thousand,
        }
    }
}

/// One meter's total in Stripe against the ledger's, over the period compared.
#[derive(SimpleObject)]
pub struct StripeDrift {
    meter: Meter,
    period_start: DateTime<Utc>,
    /// Exclusive: the comparison ran up to this minute.
    period_end: DateTime<Utc>,
    /// The ledger's usage sent to Stripe.
    ledger_quantity: i64,
    /// Stripe's meter event summary.
    stripe_quantity: i64,
    checked_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct Quotas {
    concurrent_jobs: Option<i64>,
    gpu_seconds_per_month: Option<i64>,
    storage_bytes: Option<i64>,
    inference_requests_per_minute: Option<i64>,
}

#[derive(SimpleObject)]
pub struct QuotaUse {
    /// Jobs queued or running.
    concurrent_jobs: i64,
    /// Charged GPU-seconds this calendar month (UTC).
    gpu_seconds_per_month: i64,
    storage_bytes: i64,
    /// Inference requests in the last 60 seconds.
    inference_requests_per_minute: i64,
}

#[derive(SimpleObject)]
pub struct Prices {
    currency: String,
    monthly_fee: i64,
    gpu_hour: i64,
    cpu_hour: i64,
    thousand_inference_requests: i64,
}

/// One group of `usage`: the dimensions grouped by are set, the others null.
pub struct UsageGroup(DomainUsageGroup);

#[Object]
impl UsageGroup {
    /// `YYYY-MM-DD`, UTC.
    async fn day(&self) -> Option<&str> {
        self.0.day.as_deref()
    }
    /// `YYYY-MM`, UTC.
    async fn month(&self) -> Option<&str> {
        self.0.month.as_deref()
    }
    async fn meter(&self) -> Option<Meter> {
        self.0.meter.map(Into::into)
    }
    async fn project_id(&self) -> Option<ID> {
        self.0.project_id.map(id)
    }
    async fn experiment_id(&self) -> Option<ID> {
        self.0.experiment_id.map(id)
    }
    async fn job_id(&self) -> Option<ID> {
        self.0.job_id.map(id)
    }
    async fn trainer_version_id(&self) -> Option<ID> {
        self.0.trainer_version_id.map(id)
    }
    /// The deployment an endpoint request or a replica's time was metered for.
    async fn deployment_id(&self) -> Option<ID> {
        self.0.deployment_id.map(id)
    }
    /// Charged quantity (GPU-seconds, CPU-seconds or requests; summed across meters when
    /// not grouped by meter).
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }
    /// Metered but credited: platform failures and the platform's own runs.
    async fn credited_quantity(&self) -> i64 {
        self.0.credited_quantity
    }
}

/// The current period's totals per meter, with a straight-line forecast.
pub struct PeriodUsage(pub DomainPeriodUsage);

#[Object]
impl PeriodUsage {
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period.start
    }
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period.end
    }
    async fn meters(&self) -> Vec<MeterTotal> {
        self.0
            .meters
            .iter()
            .map(|m| MeterTotal {
                meter: m.meter.into(),
                quantity: m.quantity,
                credited_quantity: m.credited_quantity,
                forecast: m.forecast,
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct MeterTotal {
    meter: Meter,
    quantity: i64,
    credited_quantity: i64,
    /// The period's charged total if use goes on at the rate so far.
    forecast: i64,
}

#[derive(SimpleObject)]
pub struct TrainerEarnings {
    trainer_id: ID,
    trainer_name: String,
    /// Other organizations' jobs that ran it.
    runs: i64,
    gpu_seconds: i64,
    cpu_seconds: i64,
    /// What those organizations were charged for it, in minor units.
    revenue: i64,
    author_share: i64,
}

pub struct Invoice(invoices::Model);

#[Object]
impl Invoice {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period_start
    }
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period_end
    }
    /// The plan in force at the period's end (the lines show each plan of the period).
    async fn plan(&self) -> PlanName {
        self.0.plan.into()
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn status(&self) -> InvoiceStatus {
        self.0.status.into()
    }
    /// Minor units.
    async fn subtotal(&self) -> i64 {
        self.0.subtotal
    }
    /// What the credited usage would have cost (not charged).
    async fn credits(&self) -> i64 {
        self.0.credits
    }
    async fn total(&self) -> i64 {
        self.0.total
    }
    async fn stripe_invoice_id(&self) -> Option<&str> {
        self.0.stripe_invoice_id.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<InvoiceLine>> {
        let lines = billing(ctx).invoice_lines(self.0.id).await?;
        Ok(lines.into_iter().map(InvoiceLine).collect())
    }
}

/// `amount = round(quantity × unitPrice / unitPricePer)`, minor units.
pub struct InvoiceLine(invoice_lines::Model);

#[Object]
impl InvoiceLine {
    /// Null for a plan's fee: `quantity` is the seconds the plan was in force in the
    /// period, `unitPricePer` the period's seconds, `unitPrice` the monthly fee.
    async fn meter(&self) -> Option<Meter> {
        self.0.meter.map(Into::into)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn quantity(&self) -> i64 {
        self.0.quantity
    }
    async fn credited_quantity(&self) -> i64 {
        self.0.credited_quantity
    }
    async fn unit_price(&self) -> i64 {
        self.0.unit_price
    }
    /// How many units `unitPrice` is for (3,600 seconds for an hour's price).
    async fn unit_price_per(&self) -> i64 {
        self.0.unit_price_per
    }
    async fn amount(&self) -> i64 {
        self.0.amount
    }
}
