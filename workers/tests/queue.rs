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
use keynet_workers::queue::{Lease, cancel, claim, complete, fail, heartbeat};
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
                while let Some(task) = claim(&db, &[KIND], &format!("w{worker}"), LEASE)
                    .await
                    .unwrap()
                {
                    mine.push(task.id);
                }
                mine
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
        let task = claim(&db, &[KIND], "w", LEASE).await.unwrap().unwrap();
        assert_eq!((task.id, task.attempts), (id, 1));
        assert_eq!(fail(&db, &task, "smtp down").await.unwrap(), Status::Queued);
        let retried = row(&db, id).await.unwrap();
        assert!(retried.run_at > now(), "the retry waits");
        assert_eq!(retried.last_error.as_deref(), Some("smtp down"));
        assert!(
            claim(&db, &[KIND], "w", LEASE).await.unwrap().is_none(),
            "not due yet"
        );

        let last = tasks::Model {
            attempts: DEFAULT_MAX_ATTEMPTS,
            ..task
        };
        assert_eq!(fail(&db, &last, "still down").await.unwrap(), Status::Dead);
        assert_eq!(row(&db, id).await.unwrap().status, Status::Dead);
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_workers_task_is_taken_up_after_its_lease() {
    for (db, owned) in databases().await {
        let id = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        // The first worker claims and "crashes": its lease is already over.
        claim(&db, &[KIND], "crashed", Duration::seconds(-1))
            .await
            .unwrap()
            .unwrap();
        let again = claim(&db, &[KIND], "healthy", LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.id, again.attempts, again.locked_by.as_deref()),
            (id, 2, Some("healthy"))
        );
        assert!(
            claim(&db, &[KIND], "third", LEASE).await.unwrap().is_none(),
            "leased again"
        );
        complete(&db, id).await.unwrap();
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
        let first = claim(&db, &[KIND], "w", LEASE).await.unwrap().unwrap();
        let second = claim(&db, &[KIND], "w", LEASE).await.unwrap().unwrap();
        assert_eq!((first.id, second.id), (urgent, routine));
        finish(db, owned).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_never_runs_and_a_running_one_learns_it() {
    for (db, owned) in databases().await {
        let queued = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        assert!(cancel(&db, queued).await.unwrap());
        assert!(claim(&db, &[KIND], "w", LEASE).await.unwrap().is_none());
        assert!(!cancel(&db, queued).await.unwrap(), "already gone");

        let running = enqueue(&db, KIND, serde_json::json!({})).await.unwrap();
        claim(&db, &[KIND], "w", LEASE).await.unwrap().unwrap();
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
            claim(&db, &[KIND], worker, Duration::seconds(-1))
                .await
                .unwrap()
                .unwrap();
        }
        assert!(
            claim(&db, &[KIND], "third", LEASE).await.unwrap().is_none(),
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
