//! What the API asks of billing, each operation checked against the viewer.

use crate::accounts;
use crate::config::BillingConfig;
use crate::earnings::{self, TrainerEarnings};
use crate::entities::billing_accounts;
use crate::entities::{invoice_lines, invoices};
use crate::error::Result;
use crate::invoices as invoicing;
use crate::meters::Meter;
use crate::periods::Period;
use crate::plan_history;
use crate::plans::{Plan, PlanName};
use crate::totals;
use crate::usage::{self, GroupBy, PeriodUsage, UsageGroup};
use chrono::{DateTime, Duration, Utc};
use keynet_domain::entities::jobs::{self, JobKind, JobStatus};
use keynet_domain::ids::OrgId;
use keynet_domain::page::{Page, PageRequest};
use keynet_domain::roles::Permission;
use keynet_domain::time::now;
use keynet_domain::{Change, Domain, Error, Viewer};
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use sea_orm::{ColumnTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

pub struct Billing {
    domain: Arc<Domain>,
    config: Arc<BillingConfig>,
}

/// The billing account as `billingAccount` shows it: plan, status, limits and use.
pub struct AccountView {
    pub account: billing_accounts::Model,
    /// The plan whose limits apply (free while a subscription is canceled).
    pub effective_plan: PlanName,
    pub limits: Plan,
    pub grace_ends_at: Option<DateTime<Utc>>,
    pub active_jobs: i64,
    pub gpu_seconds_this_period: i64,
    pub storage_bytes: i64,
    pub inference_requests_last_minute: i64,
}

/// The longest `usage` range: a little over a year of days.
const MAX_RANGE_DAYS: i64 = 400;

impl Billing {
    pub fn new(domain: Arc<Domain>, config: Arc<BillingConfig>) -> Self {
        Self { domain, config }
    }

    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    fn db(&self) -> &DatabaseConnection {
        self.domain.db()
    }

    /// For the `impl Billing` blocks outside this module (the Stripe sync), which cannot
    /// see the private fields.
    pub(crate) fn domain(&self) -> &Arc<Domain> {
        &self.domain
    }

    pub async fn account(&self, viewer: &Viewer, org: OrgId) -> Result<AccountView> {
        viewer.require(org, Permission::ManageBilling)?;
        self.account_view(org).await
    }

    async fn account_view(&self, org: OrgId) -> Result<AccountView> {
        let db = self.db();
        let account = accounts::ensure(db, org, &self.config).await?;
        let at = now();
        let period = Period::containing(at);
        let active_jobs = jobs::Entity::find()
            .filter(jobs::Column::OrgId.eq(org))
            .filter(jobs::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
            .filter(jobs::Column::Kind.ne(JobKind::Validation))
            .count(db)
            .await? as i64;
        Ok(AccountView {
            effective_plan: accounts::effective_plan(&account),
            limits: accounts::limits(&account, &self.config).clone(),
            grace_ends_at: accounts::grace_ends_at(&account, &self.config),
            active_jobs,
            gpu_seconds_this_period: totals::billable(
                db,
                org,
                Meter::GpuSeconds,
                period.start,
                period.end,
            )
            .await?,
            storage_bytes: keynet_domain::orgs::stored_bytes(db, org).await?,
            inference_requests_last_minute: totals::billable(
                db,
                org,
                Meter::InferenceRequests,
                at - Duration::minutes(1),
                at + Duration::seconds(1),
            )
            .await?,
            account,
        })
    }

    /// Owners only. Takes effect at once, for quotas and for invoices: the period is
    /// charged each plan prorated by the time it was in force.
    pub async fn change_plan(
        &self,
        viewer: &Viewer,
        org: OrgId,
        plan: PlanName,
    ) -> Result<AccountView> {
        viewer.require(org, Permission::ChangePlan)?;
        let mut tx = self.domain.begin().await?;
        let account = accounts::lock(&*tx, org, &self.config).await?;
        let previous = account.plan;
        if previous != plan {
            let at = now();
            let mut update: billing_accounts::ActiveModel = account.clone().into();
            update.plan = Set(plan);
            update.updated_at = Set(at);
            let updated = update.update(&*tx).await?;
            plan_history::record_change(&*tx, &account, &updated, at).await?;
            Change::new(org, "billing.plan_changed", "organization", org)
                .by(viewer)
                .meta(json!({"from": previous.name(), "to": plan.name()}))
                .record(&mut tx)
                .await?;
        }
        self.domain.commit(tx).await?;
        self.account_view(org).await
    }

    pub async fn usage(
        &self,
        viewer: &Viewer,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupBy],
    ) -> Result<Vec<UsageGroup>> {
        viewer.require(org, Permission::ManageBilling)?;
        check_range(from, to)?;
        usage::grouped(self.db(), org, from, to, group_by).await
    }

    pub async fn current_usage(&self, viewer: &Viewer, org: OrgId) -> Result<PeriodUsage> {
        viewer.require(org, Permission::ManageBilling)?;
        usage::current_period(self.db(), org).await
    }

    /// Newest period first.
    pub async fn invoices(
        &self,
        viewer: &Viewer,
        org: OrgId,
        page: &PageRequest,
    ) -> Result<Page<invoices::Model>> {
        viewer.require(org, Permission::ManageBilling)?;
        let query = invoices::Entity::find().filter(invoices::Column::OrgId.eq(org));
        let rows = page
            .apply(query, invoices::Column::Id, Order::Desc)
            .all(self.db())
            .await?;
        Ok(page.finish(rows))
    }

    /// Another organization's invoice is `NOT_FOUND`, as if it did not exist.
    pub async fn invoice(&self, viewer: &Viewer, id: Uuid) -> Result<invoices::Model> {
        let invoice = invoicing::find(self.db(), id)
            .await?
            .filter(|i| viewer.role_in(i.org_id).is_some())
            .ok_or(Error::NotFound("invoice"))?;
        viewer.require(invoice.org_id, Permission::ManageBilling)?;
        Ok(invoice)
    }

    pub async fn invoice_lines(&self, invoice: Uuid) -> Result<Vec<invoice_lines::Model>> {
        invoicing::lines_of(self.db(), invoice).await
    }

    pub async fn author_earnings(
        &self,
        viewer: &Viewer,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TrainerEarnings>> {
        viewer.require(org, Permission::ManageBilling)?;
        check_range(from, to)?;
        earnings::of_author(self.db(), &self.config, org, from, to).await
    }

    /// Drafts the invoices of the period before the current one that are missing (run by
    /// the workers every `sync_interval_secs`; idempotent).
    pub async fn draft_due_invoices(&self) -> Result<usize> {
        let period = Period::containing(now()).previous();
        invoicing::draft_period(self.db(), &self.config, period).await
    }

    /// Drafts the invoices of `period` (the period that contains `at`), e.g. for tests and
    /// operators closing a period by hand.
    pub async fn draft_invoices_for(&self, at: DateTime<Utc>) -> Result<usize> {
        invoicing::draft_period(self.db(), &self.config, Period::containing(at)).await
    }
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if to <= from {
        return Err(Error::invalid("to", "must be after `from`").into());
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(Error::invalid(
            "to",
            format!("the range may span at most {MAX_RANGE_DAYS} days"),
        )
        .into());
    }
    Ok(())
}
