//! The hook billing fills: asked, inside the transaction that queues a job, whether the org
//! may start it. Refusing rolls the job back before anything is queued.

use crate::entities::jobs::{JobKind, Resources};
use crate::error::Result;
use crate::ids::{OrgId, ProjectId};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;

pub struct AdmissionRequest<'a> {
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub kind: JobKind,
    pub resources: &'a Resources,
    pub max_runtime_seconds: i32,
}

pub trait JobAdmission: Send + Sync + 'static {
    fn admit<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        request: &'a AdmissionRequest<'a>,
    ) -> BoxFuture<'a, Result<()>>;
}

/// No quotas: the platform without billing.
pub struct AdmitAll;

impl JobAdmission for AdmitAll {
    fn admit<'a>(
        &'a self,
        _tx: &'a DatabaseTransaction,
        _request: &'a AdmissionRequest<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}
