//! The hook the trainer catalog fills (the marketplace, a crate above this one): jobs ask
//! it which versions of other organizations' trainers they may run, and tell it when a job
//! ends, since a new version's checks run as jobs. Without it (the domain alone) trainers
//! stay within their organization and no version is checked.

use crate::entities::{jobs, trainer_versions};
use crate::error::{Error, Result};
use crate::ids::TrainerVersionId;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

pub trait TrainerCatalog: Send + Sync + 'static {
    /// A READY version another organization shares with every organization's jobs;
    /// `NotFound` for any other.
    fn shared_version<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        id: TrainerVersionId,
    ) -> BoxFuture<'a, Result<trainer_versions::Model>>;

    /// Called in the transaction that ends `job` (succeeded, failed or cancelled), so what
    /// the catalog does about it commits with the job's end or not at all.
    fn job_ended<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        job: &'a jobs::Model,
    ) -> BoxFuture<'a, Result<()>>;
}

/// No catalog: nothing is shared, nothing is checked.
pub struct PrivateTrainers;

impl TrainerCatalog for PrivateTrainers {
    fn shared_version<'a>(
        &'a self,
        _db: &'a DatabaseConnection,
        _id: TrainerVersionId,
    ) -> BoxFuture<'a, Result<trainer_versions::Model>> {
        Box::pin(async { Err(Error::NotFound("trainer version")) })
    }

    fn job_ended<'a>(
        &'a self,
        _tx: &'a DatabaseTransaction,
        _job: &'a jobs::Model,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}
