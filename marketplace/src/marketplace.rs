//! The marketplace's entry point, beside the domain it builds on, and the hook through which
//! the domain's jobs reach it ([`Catalog`]).

use crate::compliance::compliance_job_ended;
use crate::listing::listed_version;
use futures_util::future::BoxFuture;
use keynet_domain::entities::{jobs, trainer_versions};
use keynet_domain::ids::TrainerVersionId;
use keynet_domain::jobs::catalog::TrainerCatalog;
use keynet_domain::storage::BlobStore;
use keynet_domain::{Domain, Tx};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::sync::Arc;

/// The marketplace's use cases, shared by the API and the workers.
pub struct Marketplace {
    pub(crate) domain: Arc<Domain>,
    pub(crate) db: DatabaseConnection,
    pub(crate) blobs: Arc<dyn BlobStore>,
}

impl Marketplace {
    /// The marketplace over `domain`, which should have been built with [`Catalog`] as its
    /// trainer catalog (without it, jobs cannot run listed trainers and version checks stall).
    pub fn new(domain: Arc<Domain>) -> Self {
        Self {
            db: domain.db().clone(),
            blobs: domain.blobs().clone(),
            domain,
        }
    }

    pub fn domain(&self) -> &Arc<Domain> {
        &self.domain
    }

    pub(crate) async fn begin(&self) -> keynet_domain::Result<Tx> {
        self.domain.begin().await
    }

    pub(crate) async fn commit(&self, tx: Tx) -> keynet_domain::Result<()> {
        self.domain.commit(tx).await
    }
}

/// What the domain's jobs ask of the marketplace: the versions of listed trainers any
/// organization may run, and the end of the jobs that check a new version.
pub struct Catalog;

impl TrainerCatalog for Catalog {
    fn shared_version<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        id: TrainerVersionId,
    ) -> BoxFuture<'a, keynet_domain::Result<trainer_versions::Model>> {
        Box::pin(listed_version(db, id))
    }

    fn job_ended<'a>(
        &'a self,
        tx: &'a DatabaseTransaction,
        job: &'a jobs::Model,
    ) -> BoxFuture<'a, keynet_domain::Result<()>> {
        Box::pin(compliance_job_ended(tx, job))
    }
}
