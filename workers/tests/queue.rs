//! The durable task queue on PostgreSQL and SQLite: exclusive claims under concurrency,
//! retries with backoff, the dead state, leases that run out, and the runner's loop.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use chrono::Duration;
use futures_util::future::BoxFuture;
use keynet_domain::entities::tasks::{self, Status};
use keynet_domain::tasks::{DEFAULT_MAX_ATTEMPTS, enqueue, enqueue_with};
use keynet_domain::time::now;
use keynet_migrations::{Migrator, MigratorTrait};
use keynet_testkit::pg::TestDatabase;
use keynet_workers::queue::{Lease, cancel, claim, complete, complete_and_claim, fail, heartbeat};
use keynet_workers::{RunnerConfig, TaskHandler, TaskRunner};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::sync::CancellationToken;

const KIND: &str = "test.task";
const LEASE: Duration = Duration::seconds(60);

/// What a test database leaves behind: a PostgreSQL database or a SQLite file's folder.
enum Owned {
    Postgres(TestDatabase),
    /// Held only so the folder is removed when the test ends.
    Sqlite {
        _folder: tempfile::TempDir,
    },
}

/// A migrated database of each kind; `finish` removes it.
async fn databases() -> Vec<(DatabaseConnection, Owned)> {
    let pg = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display());
    let mut both = Vec::new();
    for (url, owned) in [
        (pg.url.clone(), Owned::Postgres(pg)),
        (sqlite_url, Owned::Sqlite { _folder: dir }),
    ] {
        let db = Database::connect(url).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        both.push((db, owned));
    }
    both
}

async fn finish(db: DatabaseConnection, owned: Owned) {
    db.close().await.unwrap();
    if let Owned::Postgres(pg) = owned {
        pg.drop_database().await;
    }
}

async fn row(db: &DatabaseConnection, id: keynet_domain::ids::TaskId) -> Option<tasks::Model> {
    tasks::Entity::find_by_id(id).one(db).await.unwrap()
}

/// Claims at most one task.
async fn claim_one(db: &DatabaseConnection, worker: &str, lease: Duration) -> Option<tasks::Model> {
    let mut claimed = claim(db, &[KIND], worker, lease, 1).await.unwrap();
    assert!(claimed.len() <= 1);
    claimed.pop()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_claim_each_task_once() {
    for (db, owned) in databases().await {
        for n in 0..20 {
            enqueue(&db, KIND, serde_json::json!({"n": n}))
                .await
                .unwrap();
        }
        let mut claimers = Vec::new();
        for worker in 0..4 {
            let db = db.clone();
            claimers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    // Batches of 3 over 20 tasks: the last batches come back short.
                    let batch = claim(&db, &[KIND], &format!("w{worker}"), LEASE, 3)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    assert!(batch.len() <= 3);
                    mine.extend(batch.into_iter().map(|task| task.id));
                }
            }));
        }
        let mut claimed = Vec::new();
        for claimer in claimers {
            claimed.extend(claimer.await.unwrap());
        }
        let distinct: HashSet<_> = claimed.iter().collect();
        assert_eq!(
            (claimed.len(), distinct.len()),
            (20, 20),
            "{:?}",
            db.get_database_backend()
        );
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_then_die() {
    for (db, owned) in databases().await {
        let id = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        let task = claim_one(&db, "w", LEASE).await.unwrap();
        assert_eq!((task.id, task.attempts), (id, 1));
        assert_eq!(
            fail(&db, &task, "smtp down", None).await.unwrap(),
            Status::Queued
        );
        let retried = row(&db, id).await.unwrap();
        assert!(retried.run_at > now(), "the retry waits");
        assert_eq!(retried.last_error.as_deref(), Some("smtp down"));
        assert!(claim_one(&db, "w", LEASE).await.is_none(), "not due yet");

        let last = tasks::Model {
            attempts: DEFAULT_MAX_ATTEMPTS,
            ..task
        };
        assert_eq!(
            fail(&db, &last, "still down", None).await.unwrap(),
            Status::Dead
        );
        assert_eq!(row(&db, id).await.unwrap().status, Status::Dead);
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_workers_task_is_taken_up_after_its_lease() {
    for (db, owned) in databases().await {
        let id = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        // The first worker claims and "crashes": its lease is already over.
        claim_one(&db, "crashed", Duration::seconds(-1))
            .await
            .unwrap();
        let again = claim_one(&db, "healthy", LEASE).await.unwrap();
        assert_eq!(
            (again.id, again.attempts, again.locked_by.as_deref()),
            (id, 2, Some("healthy"))
        );
        assert!(
            claim_one(&db, "third", LEASE).await.is_none(),
            "leased again"
        );
        complete(&db, &[id]).await.unwrap();
        assert!(row(&db, id).await.is_none());
        finish(db, owned).await;
    }
}

/// Fails on its first call, succeeds afterwards.
struct Flaky(Arc<AtomicUsize>);

impl TaskHandler for Flaky {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, _task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match self.0.fetch_add(1, Ordering::SeqCst) {
                0 => anyhow::bail!("first attempt fails"),
                _ => Ok(()),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_retries_until_done_and_stops_on_request() {
    for (db, owned) in databases().await {
        let id = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let config = RunnerConfig {
            poll_interval: std::time::Duration::from_millis(20),
            ..RunnerConfig::default()
        };
        let shutdown = CancellationToken::new();
        let runner = tokio::spawn(
            TaskRunner::new(db.clone(), config)
                .handle(Flaky(calls.clone()))
                .run(shutdown.clone()),
        );
        // After the first failure the retry is due in two seconds; wait (bounded) for it.
        for _ in 0..300 {
            if row(&db, id).await.is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            row(&db, id).await.is_none(),
            "the task finished and was removed"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        shutdown.cancel();
        runner.await.unwrap();
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_tasks_are_claimed_first() {
    for (db, owned) in databases().await {
        let routine = enqueue_with(&db, KIND, serde_json::json!({}), 0, 3)
            .await
            .unwrap();
        let urgent = enqueue_with(&db, KIND, serde_json::json!({}), 10, 3)
            .await
            .unwrap();
        let first = claim_one(&db, "w", LEASE).await.unwrap();
        let second = claim_one(&db, "w", LEASE).await.unwrap();
        assert_eq!((first.id, second.id), (urgent, routine));
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_never_runs_and_a_running_one_learns_it() {
    for (db, owned) in databases().await {
        let queued = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        assert!(cancel(&db, queued).await.unwrap());
        assert!(claim_one(&db, "w", LEASE).await.is_none());
        assert!(!cancel(&db, queued).await.unwrap(), "already gone");

        let running = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        claim_one(&db, "w", LEASE).await.unwrap();
        assert!(matches!(
            heartbeat(&db, running, "w", LEASE).await.unwrap(),
            Lease::Kept
        ));
        cancel(&db, running).await.unwrap();
        assert!(matches!(
            heartbeat(&db, running, "w", LEASE).await.unwrap(),
            Lease::Cancelled
        ));
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_was_taken_over_learns_it() {
    for (db, owned) in databases().await {
        let task = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        // A lease that has run out at once: the worker stalled.
        claim_one(&db, "stalled", Duration::zero()).await.unwrap();
        let taken = claim_one(&db, "other", LEASE).await.unwrap();
        assert_eq!(taken.id, task);
        assert!(matches!(
            heartbeat(&db, task, "stalled", LEASE).await.unwrap(),
            Lease::Lost
        ));
        assert!(matches!(
            heartbeat(&db, task, "other", LEASE).await.unwrap(),
            Lease::Kept
        ));
        finish(db, owned).await;
    }
}

/// Counts the tasks reported lost.
struct Lost(Arc<AtomicUsize>);

impl TaskHandler for Lost {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, _task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn lost<'a>(&'a self, _task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_workers_are_always_lost_dies_once_reported() {
    for (db, owned) in databases().await {
        let id = enqueue_with(&db, KIND, serde_json::json!({}), 0, 2)
            .await
            .unwrap();
        // Two workers claim it and vanish: both leases are over, no attempt is left.
        for worker in ["first", "second"] {
            claim_one(&db, worker, Duration::seconds(-1)).await.unwrap();
        }
        assert!(
            claim_one(&db, "third", LEASE).await.is_none(),
            "no attempt left"
        );
        let reported = Arc::new(AtomicUsize::new(0));
        let config = RunnerConfig {
            poll_interval: std::time::Duration::from_millis(20),
            ..RunnerConfig::default()
        };
        let shutdown = CancellationToken::new();
        let runner = tokio::spawn(
            TaskRunner::new(db.clone(), config)
                .handle(Lost(reported.clone()))
                .run(shutdown.clone()),
        );
        for _ in 0..300 {
            if row(&db, id).await.is_some_and(|t| t.status == Status::Dead) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // A few more idle rounds must not report it again.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        shutdown.cancel();
        runner.await.unwrap();
        let task = row(&db, id).await.unwrap();
        assert_eq!(task.status, Status::Dead);
        assert_eq!(reported.load(Ordering::SeqCst), 1);
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_takes_the_most_urgent_and_lost_leases_only_when_nothing_is_due() {
    for (db, owned) in databases().await {
        // A task whose worker vanished: its lease is over, attempts are left.
        let lost = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        claim_one(&db, "crashed", Duration::seconds(-1))
            .await
            .unwrap();
        let mut by_priority = Vec::new();
        for priority in [0, 5, 10, 5, 1] {
            let id = enqueue_with(&db, KIND, serde_json::json!({}), priority, 3)
                .await
                .unwrap();
            by_priority.push(id);
        }
        let ids = |batch: Vec<tasks::Model>| batch.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let first = claim(&db, &[KIND], "w", LEASE, 3).await.unwrap();
        // Most urgent first; of equal priority, the one due first.
        assert_eq!(
            ids(first),
            [by_priority[2], by_priority[1], by_priority[3]],
            "{:?}",
            db.get_database_backend()
        );
        let rest = claim(&db, &[KIND], "w", LEASE, 5).await.unwrap();
        assert_eq!(
            ids(rest),
            [by_priority[4], by_priority[0]],
            "short: the lost one waits"
        );
        let taken_over = claim(&db, &[KIND], "w", LEASE, 5).await.unwrap();
        assert_eq!(
            ids(taken_over),
            [lost],
            "nothing due: the lost lease is taken over"
        );
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_tasks_are_deleted_in_the_claims_commit() {
    for (db, owned) in databases().await {
        let mut enqueued = Vec::new();
        for _ in 0..3 {
            enqueued.push(enqueue(&db, KIND, serde_json::json!({})).await.unwrap());
        }
        let done: Vec<_> = claim(&db, &[KIND], "w", LEASE, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        let next = complete_and_claim(&db, &done, &[KIND], "w", LEASE, 2)
            .await
            .unwrap();
        assert_eq!(next.len(), 1, "only one left to claim");
        assert_eq!(next[0].id, enqueued[2]);
        for id in done {
            assert!(row(&db, id).await.is_none(), "finished tasks are deleted");
        }
        // Nothing to claim for: the deletion alone.
        let none = complete_and_claim(&db, &[next[0].id], &[KIND], "w", LEASE, 0)
            .await
            .unwrap();
        assert!(none.is_empty());
        assert!(row(&db, next[0].id).await.is_none());
        finish(db, owned).await;
    }
}

/// Waits (about 10 s at most) until `done` holds; returns whether it did.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..500 {
        if done().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// Records the tasks it starts; a task whose payload has `"wait": true` waits until the
/// test adds a permit to `gate`.
struct Recorder {
    started: std::sync::Mutex<Vec<keynet_domain::ids::TaskId>>,
    gate: tokio::sync::Semaphore,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: std::sync::Mutex::new(Vec::new()),
            gate: tokio::sync::Semaphore::new(0),
        })
    }

    fn started(&self) -> Vec<keynet_domain::ids::TaskId> {
        self.started.lock().unwrap().clone()
    }
}

struct Recording(Arc<Recorder>);

impl TaskHandler for Recording {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.0.started.lock().unwrap().push(task.id);
            if task.payload["wait"] == true {
                self.0.gate.acquire().await?.forget();
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_runners_run_each_task_once() {
    for (db, owned) in databases().await {
        const TASKS: usize = 120;
        for n in 0..TASKS {
            enqueue(&db, KIND, serde_json::json!({ "n": n }))
                .await
                .unwrap();
        }
        let recorder = Recorder::new();
        let shutdown = CancellationToken::new();
        let mut runners = Vec::new();
        for _ in 0..2 {
            let config = RunnerConfig {
                concurrency: 3,
                poll_interval: std::time::Duration::from_millis(20),
                ..RunnerConfig::default()
            };
            runners.push(tokio::spawn(
                TaskRunner::new(db.clone(), config)
                    .handle(Recording(recorder.clone()))
                    .run(shutdown.clone()),
            ));
        }
        let db_ref = &db;
        let drained =
            eventually(async || tasks::Entity::find().all(db_ref).await.unwrap().is_empty()).await;
        shutdown.cancel();
        for runner in runners {
            runner.await.unwrap();
        }
        assert!(drained, "every task finished and was deleted");
        let started = recorder.started();
        let distinct: HashSet<_> = started.iter().collect();
        assert_eq!(
            (started.len(), distinct.len()),
            (TASKS, TASKS),
            "{:?}",
            db.get_database_backend()
        );
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deletes_the_finished_and_releases_the_unfinished() {
    for (db, owned) in databases().await {
        let quick = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        let stuck = enqueue(&db, KIND, serde_json::json!({ "wait": true }))
            .await
            .unwrap();
        let recorder = Recorder::new();
        let config = RunnerConfig {
            concurrency: 2,
            poll_interval: std::time::Duration::from_millis(20),
            shutdown_grace: std::time::Duration::from_millis(100),
            ..RunnerConfig::default()
        };
        let shutdown = CancellationToken::new();
        let runner = tokio::spawn(
            TaskRunner::new(db.clone(), config)
                .handle(Recording(recorder.clone()))
                .run(shutdown.clone()),
        );
        // Stopped as soon as both started: the quick one may not be deleted yet.
        assert!(eventually(async || recorder.started().len() == 2).await);
        shutdown.cancel();
        runner.await.unwrap();
        assert!(
            row(&db, quick).await.is_none(),
            "finished: deleted, not requeued"
        );
        let released = row(&db, stuck).await.unwrap();
        assert_eq!(
            (released.status, released.attempts, released.locked_by),
            (Status::Queued, 0, None),
            "unfinished: given back, the attempt not counted"
        );
        finish(db, owned).await;
    }
}

/// With polling out of the picture, every task must be picked up by the `LISTEN` wake-up:
/// when the runner is idle, and when some of its slots are busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wake_the_runner_without_polling() {
    let pg = TestDatabase::create().await;
    let db = Database::connect(pg.url.clone()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let recorder = Recorder::new();
    let config = RunnerConfig {
        concurrency: 2,
        poll_interval: std::time::Duration::from_secs(3600),
        ..RunnerConfig::default()
    };
    let shutdown = CancellationToken::new();
    let runner = tokio::spawn(
        TaskRunner::new(db.clone(), config)
            .handle(Recording(recorder.clone()))
            .run(shutdown.clone()),
    );
    let db_ref = &db;
    let listening = eventually(async || {
        let row = db_ref
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() > 0
    })
    .await;
    assert!(listening, "the runner listens");

    let busy = enqueue(&db, KIND, serde_json::json!({ "wait": true }))
        .await
        .unwrap();
    assert!(eventually(async || recorder.started() == [busy]).await);
    for _ in 0..3 {
        // One slot is busy; the other takes each new task.
        let next = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        assert!(eventually(async || recorder.started().contains(&next)).await);
    }
    recorder.gate.add_permits(1);
    assert!(eventually(async || tasks::Entity::find().all(db_ref).await.unwrap().is_empty()).await);
    shutdown.cancel();
    runner.await.unwrap();
    db.close().await.unwrap();
    pg.drop_database().await;
}
