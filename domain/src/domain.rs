//! The entry point to the business rules, shared by the API and the workers.

use crate::auth::jwt::JwtKeys;
use crate::config::DomainConfig;
use crate::error::Result;
use crate::events::{Announcements, Event, EventBus, user_access_topic};
use crate::ids::UserId;
use crate::jobs::billing::{JobBilling, Unmetered};
use crate::jobs::catalog::{PrivateTrainers, TrainerCatalog};
use crate::storage::BlobStore;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait,
};
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub struct Domain {
    pub(crate) db: DatabaseConnection,
    pub(crate) config: DomainConfig,
    pub(crate) keys: JwtKeys,
    pub(crate) events: Arc<dyn EventBus>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) billing: Arc<dyn JobBilling>,
    pub(crate) catalog: Arc<dyn TrainerCatalog>,
    /// SQLite takes one writer at a time: this process's transactions queue here for their
    /// turn instead of racing for the file's lock (whose busy timeout would fail them under
    /// load). `None` on PostgreSQL.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

impl Domain {
    pub fn new(
        db: DatabaseConnection,
        config: DomainConfig,
        keys: JwtKeys,
        events: Arc<dyn EventBus>,
        blobs: Arc<dyn BlobStore>,
    ) -> Self {
        let sqlite_writer =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Self {
            db,
            config,
            keys,
            events,
            blobs,
            billing: Arc::new(Unmetered),
            catalog: Arc::new(PrivateTrainers),
            sqlite_writer,
        }
    }

    /// Puts quotas in front of every job and meters what jobs use; without it every job is
    /// admitted and nothing is metered.
    pub fn with_billing(mut self, billing: Arc<dyn JobBilling>) -> Self {
        self.billing = billing;
        self
    }

    /// Lets jobs run the versions `catalog` shares and tells it when jobs end; without it
    /// trainers stay within their organization.
    pub fn with_trainer_catalog(mut self, catalog: Arc<dyn TrainerCatalog>) -> Self {
        self.catalog = catalog;
        self
    }

    pub fn keys(&self) -> &JwtKeys {
        &self.keys
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
        let writer = match &self.sqlite_writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        };
        let txn = self.db.begin().await?;
        if writer.is_some() {
            // In WAL mode a transaction that read first cannot write once another connection
            // has committed (SQLITE_BUSY_SNAPSHOT; waiting does not help). Taking the write
            // lock up front is what `BEGIN IMMEDIATE` does; sea-orm only issues `BEGIN`.
            txn.execute_unprepared("UPDATE organizations SET id = id WHERE 0")
                .await?;
        }
        Ok(Tx {
            txn,
            events: Vec::new(),
            _writer: writer,
        })
    }

    /// Commits with what the transaction announced: subscribers hear of it if and only if
    /// the write committed (see [`EventBus::commit`]).
    pub async fn commit(&self, tx: Tx) -> Result<()> {
        // The writer's turn (SQLite) ends when `tx._writer` drops, after the commit.
        Ok(self.events.commit(tx.txn, tx.events).await?)
    }
}

/// A use case's transaction and the events to publish once it commits.
pub struct Tx {
    txn: DatabaseTransaction,
    events: Announcements,
    /// This transaction's turn as SQLite's writer, held until it commits or is dropped.
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub fn announce(&mut self, topic: String, event: Event) {
        self.events.push((topic, event));
    }

    /// Tells `user`'s live views to check their access again once this commits.
    pub fn announce_access_changed(&mut self, user: UserId) {
        self.announce(
            user_access_topic(user),
            Event::AccessChanged { user_id: user },
        );
    }
}

impl Deref for Tx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
