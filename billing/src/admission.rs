//! The domain's billing hook: quotas checked before a job is queued, usage recorded when an
//! attempt ends, both inside the domain's transaction.

use crate::accounts;
use crate::config::BillingConfig;
use crate::ledger::{self, Usage};
use crate::metering;
use crate::meters::Meter;
use crate::periods::Period;
use crate::thresholds;
use crate::totals;
use chrono::Duration;
use futures_util::future::BoxFuture;
use keynet_domain::entities::jobs::{self, JobKind, JobStatus, Resources};
use keynet_domain::entities::trainer_versions;
use keynet_domain::events::Event;
use keynet_domain::ids::OrgId;
use keynet_domain::jobs::billing::{AdmissionRequest, AttemptUsage, JobBilling};
use keynet_domain::time::now;
use keynet_domain::{Error, Result};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use std::sync::Arc;

pub struct BillingHook {
    config: Arc<BillingConfig>,
}

impl BillingHook {
    pub fn new(config: Arc<BillingConfig>) -> Self {
        Self { config }
    }
}

impl JobBilling for BillingHook {
    fn admit<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        request: &'a AdmissionRequest<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.check_quotas(tx, request).await.map_err(domain_error) })
    }

    fn attempt_ended<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        usage: &'a AttemptUsage<'a>,
    ) -> BoxFuture<'a, Result<Vec<(String, Event)>>> {
        Box::pin(async move { self.record_attempt(tx, usage).await.map_err(domain_error) })
    }
}

fn domain_error(error: crate::Error) -> Error {
    match error {
        crate::Error::Domain(e) => e,
        other => Error::Internal(other.into()),
    }
}

fn refuse(quota: &'static str, message: String) -> crate::Error {
    Error::QuotaExceeded { quota, message }.into()
}

impl BillingHook {
    async fn check_quotas(
        &self,
        tx: &DatabaseTransaction,
        request: &AdmissionRequest<'_>,
    ) -> crate::Result<()> {
        let account = accounts::lock(tx, request.org_id, &self.config).await?;
        if let Some(ends) = accounts::grace_ends_at(&account, &self.config)
            && now() >= ends
        {
            return Err(refuse(
                "payment",
                format!(
                    "a payment failed and the grace period ended on {}; new jobs start again once the invoice is paid",
                    ends.format("%Y-%m-%d")
                ),
            ));
        }
        let plan = accounts::limits(&account, &self.config);
        let plan_name = accounts::effective_plan(&account).name();
        let active = active_jobs(tx, request).await?;
        if let Some(limit) = plan.concurrent_jobs
            && active.len() as i64 >= limit
        {
            return Err(refuse(
                "concurrent_jobs",
                format!(
                    "the {plan_name} plan allows {limit} jobs queued or running at once; {} are",
                    active.len()
                ),
            ));
        }
        if let Some(limit) = plan.gpu_seconds_per_month
            && request.resources.gpus > 0
        {
            let period = Period::containing(now());
            let used = totals::billable(
                tx,
                request.org_id,
                Meter::GpuSeconds,
                period.start,
                period.end,
            )
            .await?;
            let reserved: i64 = active
                .iter()
                .map(|(resources, max_runtime)| worst_case_gpu_seconds(resources, *max_runtime))
                .sum();
            let needed = worst_case_gpu_seconds(request.resources, request.max_runtime_seconds);
            if used + reserved + needed > limit {
                return Err(refuse(
                    "gpu_seconds_per_month",
                    format!(
                        "this job may use up to {needed} GPU-seconds ({} GPUs × {} s); the {plan_name} plan allows {limit} per month, {used} are used and {reserved} reserved by jobs queued or running",
                        request.resources.gpus, request.max_runtime_seconds
                    ),
                ));
            }
        }
        if let Some(limit) = plan.storage_bytes {
            let stored = keynet_domain::orgs::stored_bytes(tx, request.org_id).await?;
            if stored >= limit {
                return Err(refuse(
                    "storage_bytes",
                    format!(
                        "the organization stores {stored} bytes, the {plan_name} plan's limit is {limit}; delete datasets or jobs' files first"
                    ),
                ));
            }
        }
        if request.kind == JobKind::Inference {
            self.admit_inference_request(
                tx,
                request,
                plan.inference_requests_per_minute,
                plan_name,
            )
            .await?;
        }
        Ok(())
    }

    /// Counts the requests of the last minute, and records this one.
    async fn admit_inference_request(
        &self,
        tx: &DatabaseTransaction,
        request: &AdmissionRequest<'_>,
        per_minute: Option<i64>,
        plan_name: &str,
    ) -> crate::Result<()> {
        if let Some(limit) = per_minute {
            let at = now();
            let recent = totals::billable(
                tx,
                request.org_id,
                Meter::InferenceRequests,
                at - Duration::minutes(1),
                at + Duration::seconds(1),
            )
            .await?;
            if recent >= limit {
                return Err(refuse(
                    "inference_requests_per_minute",
                    format!(
                        "the {plan_name} plan allows {limit} inference requests per minute; try again in a minute"
                    ),
                ));
            }
        }
        let mut fact = metering::inference_request(request.job_id, request.org_id);
        fact.project_id = Some(request.project_id);
        ledger::record(tx, vec![fact]).await?;
        Ok(())
    }

    async fn record_attempt(
        &self,
        tx: &DatabaseTransaction,
        usage: &AttemptUsage<'_>,
    ) -> crate::Result<Vec<(String, Event)>> {
        let trainer_org = trainer_versions::Entity::find_by_id(usage.job.trainer_version_id)
            .select_only()
            .column(trainer_versions::Column::OrgId)
            .into_tuple::<OrgId>()
            .one(tx)
            .await?;
        let facts: Vec<Usage> = metering::attempt_facts(usage, trainer_org);
        let charged_gpu = facts
            .iter()
            .any(|f| f.meter == Meter::GpuSeconds && f.credit_reason.is_none());
        ledger::record(tx, facts).await?;
        if !charged_gpu {
            return Ok(Vec::new());
        }
        let account = accounts::ensure(tx, usage.job.org_id, &self.config).await?;
        let limit = accounts::limits(&account, &self.config).gpu_seconds_per_month;
        thresholds::reached(tx, usage.job.org_id, limit).await
    }
}

/// GPUs × the job's wall-clock limit: the most it can use.
fn worst_case_gpu_seconds(resources: &Resources, max_runtime_seconds: i32) -> i64 {
    i64::from(resources.gpus.max(0)) * i64::from(max_runtime_seconds.max(0))
}

/// The organization's other jobs queued or running (platform jobs aside): their resources
/// and limits.
async fn active_jobs(
    db: &impl ConnectionTrait,
    request: &AdmissionRequest<'_>,
) -> crate::Result<Vec<(Resources, i32)>> {
    Ok(jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Resources)
        .column(jobs::Column::MaxRuntimeSeconds)
        .filter(jobs::Column::OrgId.eq(request.org_id))
        .filter(jobs::Column::Id.ne(request.job_id))
        .filter(jobs::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .filter(jobs::Column::Kind.ne(JobKind::Validation))
        .into_tuple()
        .all(db)
        .await?)
}
