//! The hook billing fills, called inside the transactions that start and end jobs: asked
//! whether the org may start a job (refusing rolls the job back before anything is queued),
//! and told what an attempt used when it ends (so usage is recorded with the job's end, or
//! not at all).

use crate::entities::jobs::{self, JobKind, Resources};
use crate::error::Result;
use crate::events::Event;
use crate::ids::{JobId, OrgId, ProjectId};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;

pub struct AdmissionRequest<'a> {
    pub job_id: JobId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub kind: JobKind,
    pub resources: &'a Resources,
    pub max_runtime_seconds: i32,
}

/// What one attempt of a job used, as the worker measured it.
pub struct AttemptUsage<'a> {
    /// The job as it ended (status, attempt, resources, trainer version).
    pub job: &'a jobs::Model,
    pub runtime_ms: i64,
    /// Set when the platform, not the trainer or the user, ended the attempt (executor
    /// error, worker lost): the usage is recorded but credited.
    pub platform_fault: Option<String>,
}

pub trait JobBilling: Send + Sync + 'static {
    fn admit<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        request: &'a AdmissionRequest<'a>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Records the attempt's usage; returns events to publish once the transaction commits
    /// (e.g. a quota threshold reached).
    fn attempt_ended<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        usage: &'a AttemptUsage<'a>,
    ) -> BoxFuture<'a, Result<Vec<(String, Event)>>>;
}

/// No quotas, no metering: the domain alone (unit tests, tools).
pub struct Unmetered;

impl JobBilling for Unmetered {
    fn admit<'a>(
        &'a self,
        _tx: &'a DatabaseTransaction,
        _request: &'a AdmissionRequest<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn attempt_ended<'a>(
        &'a self,
        _tx: &'a DatabaseTransaction,
        _usage: &'a AttemptUsage<'a>,
    ) -> BoxFuture<'a, Result<Vec<(String, Event)>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
