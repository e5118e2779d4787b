//! Counts and times the SQL statements a connection pool runs, through sea-orm's metric
//! callback, and can capture their text for a single request (the N+1 and same-SQL checks).

use anyhow::Result;
use sea_orm::DatabaseConnection;
use sea_orm::metric::Info;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
pub struct SqlProbe {
    statements: AtomicU64,
    /// Time spent executing statements, excluding the wait for a pooled connection.
    nanos: AtomicU64,
    capturing: AtomicBool,
    captured: Mutex<Vec<String>>,
}

/// Statements run and time spent in them, between two readings of a probe.
#[derive(Clone, Copy, Debug, Default)]
pub struct SqlTally {
    pub statements: u64,
    pub nanos: u64,
}

impl SqlTally {
    pub fn since(self, earlier: SqlTally) -> SqlTally {
        SqlTally {
            statements: self.statements - earlier.statements,
            nanos: self.nanos - earlier.nanos,
        }
    }
}

impl SqlProbe {
    /// Must be called before the connection is cloned: clones keep the callback they had.
    pub fn install(db: &mut DatabaseConnection) -> Arc<Self> {
        let probe = Arc::new(Self::default());
        let observer = probe.clone();
        db.set_metric_callback(move |info| observer.observe(info));
        probe
    }

    /// Runs on every statement of the pool, so under load it only touches two atomics.
    fn observe(&self, info: &Info<'_>) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(info.elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        if self.capturing.load(Ordering::Relaxed) {
            self.captured_sql().push(info.statement.sql.clone());
        }
    }

    fn captured_sql(&self) -> MutexGuard<'_, Vec<String>> {
        // A panic elsewhere cannot leave a list of strings half-written.
        self.captured.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tally(&self) -> SqlTally {
        SqlTally {
            statements: self.statements.load(Ordering::Relaxed),
            nanos: self.nanos.load(Ordering::Relaxed),
        }
    }

    /// The SQL text of every statement the pool ran while `request` did. Only meaningful while
    /// nothing else uses the pool (the measured platform runs no workers).
    pub async fn capture<T>(
        &self,
        request: impl Future<Output = Result<T>>,
    ) -> Result<Vec<String>> {
        self.captured_sql().clear();
        self.capturing.store(true, Ordering::Relaxed);
        let outcome = request.await;
        self.capturing.store(false, Ordering::Relaxed);
        outcome?;
        Ok(std::mem::take(&mut *self.captured_sql()))
    }
}
