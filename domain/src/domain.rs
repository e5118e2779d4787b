//! The entry point to the business rules, shared by the API and the workers.

use crate::auth::jwt::JwtKeys;
use crate::config::DomainConfig;
use crate::error::Result;
use crate::events::{Event, EventBus};
use crate::jobs::billing::{JobBilling, Unmetered};
use crate::storage::BlobStore;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait,
};
use std::ops::Deref;
use std::sync::Arc;

pub struct Domain {
    pub(crate) db: DatabaseConnection,
    pub(crate) config: DomainConfig,
    pub(crate) keys: JwtKeys,
    pub(crate) events: Arc<dyn EventBus>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) billing: Arc<dyn JobBilling>,
}

impl Domain {
    pub fn new(
        db: DatabaseConnection,
        config: DomainConfig,
        keys: JwtKeys,
        events: Arc<dyn EventBus>,
        blobs: Arc<dyn BlobStore>,
    ) -> Self {
        Self {
            db,
            config,
            keys,
            events,
            blobs,
            billing: Arc::new(Unmetered),
        }
    }

    /// Puts quotas in front of every job and meters what jobs use; without it every job is
    /// admitted and nothing is metered.
    pub fn with_billing(mut self, billing: Arc<dyn JobBilling>) -> Self {
        self.billing = billing;
        self
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn events(&self) -> &Arc<dyn EventBus> {
        &self.events
    }

    pub fn config(&self) -> &DomainConfig {
        &self.config
    }

    /// One transaction per use case: the write, its audit entries and its follow-up tasks
    /// commit or roll back together.
    pub async fn begin(&self) -> Result<Tx> {
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DbBackend::Sqlite {
            // In WAL mode a transaction that read first cannot write once another connection
            // has committed (SQLITE_BUSY_SNAPSHOT; waiting does not help). Taking the write
            // lock up front is what `BEGIN IMMEDIATE` does; sea-orm only issues `BEGIN`.
            txn.execute_unprepared("UPDATE organizations SET id = id WHERE 0")
                .await?;
        }
        Ok(Tx {
            txn,
            events: Vec::new(),
        })
    }

    /// Commits, then publishes what the transaction announced, so subscribers never see an
    /// event for a write that was rolled back.
    pub async fn commit(&self, tx: Tx) -> Result<()> {
        tx.txn.commit().await?;
        for (topic, event) in tx.events {
            self.events.publish(&topic, event);
        }
        Ok(())
    }
}

/// A use case's transaction and the events to publish once it commits.
pub struct Tx {
    txn: DatabaseTransaction,
    events: Vec<(String, Event)>,
}

impl Tx {
    pub fn announce(&mut self, topic: String, event: Event) {
        self.events.push((topic, event));
    }
}

impl Deref for Tx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
