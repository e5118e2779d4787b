//! The usage ledger: the source of truth for every number billing shows. Rows are only
//! appended; the idempotency key is unique in the database, so a fact reported twice (a
//! retried task, a duplicated callback, two workers at once) is stored once, under any
//! concurrency, without a read before the write.

use crate::entities::usage_events;
use crate::error::Result;
use crate::meters::Meter;
use chrono::{DateTime, Utc};
use keynet_domain::ids::{
    DeploymentId, DeploymentKeyId, ExperimentId, JobId, OrgId, ProjectId, TrainerVersionId,
};
use keynet_domain::time::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

/// A fact to meter.
#[derive(Clone, Debug)]
pub struct Usage {
    pub org_id: OrgId,
    pub meter: Meter,
    pub quantity: i64,
    pub idempotency_key: String,
    pub occurred_at: DateTime<Utc>,
    pub project_id: Option<ProjectId>,
    pub experiment_id: Option<ExperimentId>,
    pub job_id: Option<JobId>,
    pub trainer_version_id: Option<TrainerVersionId>,
    pub trainer_org_id: Option<OrgId>,
    /// The deployment an endpoint request or a replica's time was metered for, and the key
    /// that called it.
    pub deployment_id: Option<DeploymentId>,
    pub deployment_key_id: Option<DeploymentKeyId>,
    /// Why it is not charged, if it is not.
    pub credit_reason: Option<String>,
}

impl Usage {
    /// The row the ledger stores for this fact.
    pub fn into_row(self, at: DateTime<Utc>) -> usage_events::ActiveModel {
        usage_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(self.org_id),
            meter: Set(self.meter),
            quantity: Set(self.quantity),
            idempotency_key: Set(self.idempotency_key),
            occurred_at: Set(self.occurred_at),
            project_id: Set(self.project_id),
            experiment_id: Set(self.experiment_id),
            job_id: Set(self.job_id),
            trainer_version_id: Set(self.trainer_version_id),
            trainer_org_id: Set(self.trainer_org_id),
            deployment_id: Set(self.deployment_id),
            deployment_key_id: Set(self.deployment_key_id),
            credited: Set(self.credit_reason.is_some()),
            credit_reason: Set(self.credit_reason),
            stripe_sent_at: Set(None),
            created_at: Set(at),
        }
    }
}

/// Facts per statement: 17 bind parameters each keeps a statement under both PostgreSQL's
/// (65,535) and SQLite's (32,766) limit.
const FACTS_PER_STATEMENT: usize = 1_000;

/// Appends the facts whose keys are new; returns how many were. One
/// `INSERT … ON CONFLICT (idempotency_key) DO NOTHING` per 1,000 facts. The facts are
/// inserted in key order, so two writers reporting overlapping facts lock the same keys in
/// the same order and cannot deadlock. Outside a transaction a failure may leave earlier
/// chunks stored; recording again is safe, the keys make it a no-op for them.
pub async fn record(db: &impl ConnectionTrait, mut facts: Vec<Usage>) -> Result<u64> {
    facts.sort_unstable_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
    let at = now();
    let mut inserted = 0;
    let mut facts = facts.into_iter().peekable();
    while facts.peek().is_some() {
        let chunk = facts
            .by_ref()
            .take(FACTS_PER_STATEMENT)
            .map(|f| f.into_row(at));
        inserted += usage_events::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(usage_events::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}
