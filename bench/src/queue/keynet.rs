//! The Keynet side: the platform's own task queue (`keynet_domain::tasks::enqueue`, the
//! workers' `TaskRunner` with its LISTEN wake-up and `FOR UPDATE SKIP LOCKED` claim) with a
//! no-op handler, on a database migrated like the platform's.

use crate::run::{Latency, Plan, Throughput};
use anyhow::{Context, Result, ensure};
use futures_util::future::BoxFuture;
use keynet_domain::entities::tasks;
use keynet_domain::tasks::enqueue;
use keynet_workers::{RunnerConfig, TaskHandler, TaskRunner};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const KIND: &str = "bench.noop";

/// Time for the idle claim loops to start waiting and the listener to `LISTEN`.
pub const SETTLE: Duration = Duration::from_millis(500);

/// What the no-op handler saw: how many tasks started, and when each sample started.
#[derive(Default)]
struct Started {
    count: AtomicUsize,
    /// Indexed by the payload's `i`; only the latency measurement records instants.
    at: Mutex<Vec<Option<Instant>>>,
    changed: Notify,
}

impl Started {
    fn record(&self, i: Option<u64>, at: Instant) {
        if let Some(i) = i {
            let mut slots = self.at.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = slots.get_mut(i as usize) {
                *slot = Some(at);
            }
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Waits until `n` tasks started, or `limit` ran out; returns how many did.
    async fn wait_for(&self, n: usize, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let count = self.count.load(Ordering::SeqCst);
            if count >= n {
                return count;
            }
            if tokio::time::timeout_at(deadline, self.changed.notified())
                .await
                .is_err()
            {
                return self.count.load(Ordering::SeqCst);
            }
        }
    }
}

struct Noop(Arc<Started>);

impl TaskHandler for Noop {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.0.record(task.payload["i"].as_u64(), Instant::now());
            Ok(())
        })
    }
}

/// A `TaskRunner` of `concurrency` slots and otherwise default settings (250 ms poll
/// fallback, as the platform's), running until `stop` is called.
struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Running {
    async fn start(db: &DatabaseConnection, concurrency: usize, started: Arc<Started>) -> Self {
        let runner = TaskRunner::new(
            db.clone(),
            RunnerConfig {
                concurrency,
                ..RunnerConfig::default()
            },
        )
        .handle(Noop(started));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(runner.run(shutdown.clone()));
        tokio::time::sleep(SETTLE).await;
        Self { shutdown, task }
    }

    async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.task.await.context("the task runner panicked")
    }
}

/// The size of the `tasks` heap (live and dead rows): what a sequential scan reads.
async fn heap_bytes(db: &DatabaseConnection) -> Result<i64> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_relation_size('tasks') AS bytes",
        ))
        .await?
        .context("no answer to the size query")?;
    Ok(row.try_get("", "bytes")?)
}

async fn queue_is_empty(db: &DatabaseConnection) -> Result<bool> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT NOT EXISTS (SELECT 1 FROM tasks) AS empty",
        ))
        .await?
        .context("no answer to the emptiness check")?;
    Ok(row.try_get("", "empty")?)
}

/// N tasks enqueued in one transaction while the runner is idle; the clock runs from the
/// commit until the last task is complete (deleted from the queue).
pub async fn throughput(db: &DatabaseConnection, plan: &Plan) -> Result<Throughput> {
    ensure!(queue_is_empty(db).await?, "the task queue is not empty");
    let started = Arc::new(Started::default());
    let running = Running::start(db, plan.concurrency, started.clone()).await;
    eprintln!("keynet: enqueueing {} tasks in one transaction", plan.tasks);
    let txn = db.begin().await?;
    for i in 0..plan.tasks {
        enqueue(&txn, KIND, json!({"i": i})).await?;
    }
    txn.commit().await?;
    let committed = Instant::now();
    let count = started.wait_for(plan.tasks, Duration::from_secs(600)).await;
    ensure!(
        count == plan.tasks,
        "only {count} of {} tasks started in 10 minutes",
        plan.tasks
    );
    // The handlers all ran; the last few deletions may still be in flight.
    while !queue_is_empty(db).await? {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = committed.elapsed().as_secs_f64();
    running.stop().await?;
    eprintln!("keynet: {} tasks in {seconds:.2} s", plan.tasks);
    Ok(Throughput {
        tasks: plan.tasks,
        seconds,
    })
}

/// One task per transaction, `spacing` apart, to idle workers; each sample is the time from
/// sending the transaction's COMMIT until the handler started. (From the commit *returning*
/// is ill-defined: the listener is notified at commit, and on a busy machine the handler
/// often runs before the enqueuing task is scheduled again.)
pub async fn latency(db: &DatabaseConnection, plan: &Plan) -> Result<Latency> {
    ensure!(queue_is_empty(db).await?, "the task queue is not empty");
    let total = plan.warmup_samples + plan.samples;
    let started = Arc::new(Started {
        at: Mutex::new(vec![None; total]),
        ..Started::default()
    });
    let heap = heap_bytes(db).await?;
    let running = Running::start(db, plan.concurrency, started.clone()).await;
    eprintln!(
        "keynet: {total} tasks one at a time, {} ms apart",
        plan.spacing.as_millis()
    );
    // When COMMIT was sent, and how long it took to return.
    let mut committing = Vec::with_capacity(total);
    let origin = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(origin + plan.spacing * i as u32).await;
        let txn = db.begin().await?;
        enqueue(&txn, KIND, json!({"i": i})).await?;
        let sent = Instant::now();
        txn.commit().await?;
        committing.push((sent, sent.elapsed()));
    }
    let count = started.wait_for(total, Duration::from_secs(10)).await;
    running.stop().await?;
    ensure!(
        count == total,
        "only {count} of {total} tasks started within 10 s"
    );
    let at = started.at.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut latency = Latency {
        heap_bytes: Some(heap),
        ..Latency::default()
    };
    for (i, (sent, commit)) in committing.iter().enumerate().skip(plan.warmup_samples) {
        let start = at[i].context("a sample's start was not recorded")?;
        // The handler cannot start before COMMIT was sent (it cannot see the task earlier).
        let after = start.saturating_duration_since(*sent);
        latency.samples_ms.push(after.as_secs_f64() * 1000.0);
        latency.commit_ms.push(commit.as_secs_f64() * 1000.0);
    }
    Ok(latency)
}
