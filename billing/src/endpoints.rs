//! Metering and admitting deployment endpoint requests without a database write per
//! request. Each API instance counts the requests it answered in memory and writes them to
//! the ledger once per flush interval, one fact per deployment and caller, keyed by the
//! instance and the flush's number (a retried flush is stored once). The plan's
//! requests-per-minute quota is checked against the ledger's last minute (read at most once
//! a second per organization) plus what this instance admitted since that read, so it holds
//! across instances within about a flush interval.

use crate::accounts;
use crate::config::BillingConfig;
use crate::error::Result;
use crate::ledger;
use crate::metering::{self, EndpointRequests};
use crate::meters::Meter;
use crate::totals;
use chrono::Duration as Span;
use keynet_domain::ids::{DeploymentId, DeploymentKeyId, OrgId, ProjectId};
use keynet_domain::time::now;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How stale an organization's ledger count may be before a request reads it again.
const QUOTA_READ_INTERVAL: Duration = Duration::from_secs(1);

/// What one answered request is metered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Metered {
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub deployment_id: DeploymentId,
    pub key_id: Option<DeploymentKeyId>,
}

/// An organization's requests of the last minute, as last read, and the plan's limit.
struct RecentUse {
    read_at: Instant,
    in_ledger: i64,
    admitted_since: i64,
    limit: Option<i64>,
    plan: &'static str,
}

/// A request refused by the plan's quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRefusal {
    pub quota: &'static str,
    pub message: String,
}

pub struct EndpointMeter {
    db: DatabaseConnection,
    config: std::sync::Arc<BillingConfig>,
    instance: Uuid,
    flushes: AtomicU64,
    counted: Mutex<HashMap<Metered, i64>>,
    /// A flush whose write failed, to write again as it is.
    unwritten: Mutex<Option<Vec<ledger::Usage>>>,
    recent: Mutex<HashMap<OrgId, RecentUse>>,
}

impl EndpointMeter {
    pub fn new(db: DatabaseConnection, config: std::sync::Arc<BillingConfig>) -> Self {
        Self {
            db,
            config,
            instance: Uuid::now_v7(),
            flushes: AtomicU64::new(0),
            counted: Mutex::new(HashMap::new()),
            unwritten: Mutex::new(None),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the organization's plan allows one more request this minute; counts it as
    /// admitted when it does.
    pub async fn admit(&self, org: OrgId) -> Result<std::result::Result<(), QuotaRefusal>> {
        let stale = lock(&self.recent)
            .get(&org)
            .is_none_or(|r| r.read_at.elapsed() >= QUOTA_READ_INTERVAL);
        if stale {
            // Read outside the lock: other organizations' requests do not wait for it.
            let fresh = self.read_recent_use(org).await?;
            lock(&self.recent).insert(org, fresh);
        }
        let mut recent = lock(&self.recent);
        let Some(use_) = recent.get_mut(&org) else {
            return Ok(Ok(()));
        };
        if let Some(limit) = use_.limit
            && use_.in_ledger + use_.admitted_since >= limit
        {
            return Ok(Err(QuotaRefusal {
                quota: "inference_requests_per_minute",
                message: format!(
                    "the {} plan allows {limit} inference requests per minute; try again in a minute",
                    use_.plan
                ),
            }));
        }
        use_.admitted_since += 1;
        Ok(Ok(()))
    }

    async fn read_recent_use(&self, org: OrgId) -> Result<RecentUse> {
        let account = accounts::ensure(&self.db, org, &self.config).await?;
        let plan = accounts::limits(&account, &self.config);
        let at = now();
        let in_ledger = match plan.inference_requests_per_minute {
            Some(_) => {
                totals::billable(
                    &self.db,
                    org,
                    Meter::InferenceRequests,
                    at - Span::minutes(1),
                    at + Span::seconds(1),
                )
                .await?
            }
            None => 0,
        };
        Ok(RecentUse {
            read_at: Instant::now(),
            in_ledger,
            admitted_since: 0,
            limit: plan.inference_requests_per_minute,
            plan: accounts::effective_plan(&account).name(),
        })
    }

    /// Answered requests, written at the next flush.
    pub fn count(&self, metered: Metered, requests: i64) {
        let mut counted = lock(&self.counted);
        *counted.entry(metered).or_insert(0) += requests;
    }

    /// Writes what was counted since the last flush; returns the facts written. A flush
    /// that failed is written again first, exactly as it was (same keys, same quantities),
    /// so a write that did commit before its error is not counted twice.
    pub async fn flush(&self) -> Result<u64> {
        let mut written = 0;
        let retry = lock(&self.unwritten).take();
        if let Some(facts) = retry {
            match ledger::record(&self.db, facts.clone()).await {
                Ok(count) => written += count,
                Err(error) => {
                    *lock(&self.unwritten) = Some(facts);
                    return Err(error);
                }
            }
        }
        let taken: Vec<(Metered, i64)> = {
            let mut counted = lock(&self.counted);
            counted.drain().collect()
        };
        if taken.is_empty() {
            return Ok(written);
        }
        let flush = self.flushes.fetch_add(1, Ordering::Relaxed);
        let facts: Vec<_> = taken
            .iter()
            .map(|(metered, requests)| {
                metering::endpoint_requests(EndpointRequests {
                    org_id: metered.org_id,
                    project_id: metered.project_id,
                    deployment_id: metered.deployment_id,
                    key_id: metered.key_id,
                    instance: self.instance,
                    flush,
                    requests: *requests,
                })
            })
            .collect();
        match ledger::record(&self.db, facts.clone()).await {
            Ok(count) => Ok(written + count),
            Err(error) => {
                *lock(&self.unwritten) = Some(facts);
                Err(error)
            }
        }
    }
}

/// The counters are plain maps: a panic elsewhere while one was held leaves them usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
