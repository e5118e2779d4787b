//! Runs tasks: several claim loops, one per slot, each handing a task to the handler of its
//! kind while a heartbeat keeps the lease. Idle loops wake up when PostgreSQL announces a
//! new task (`LISTEN`), and poll anyway as a fallback (and on SQLite). On shutdown the loops
//! stop claiming, running tasks get a grace period, and whatever is still running then is
//! released for others.

use crate::queue;
use chrono::Duration;
use futures_util::future::BoxFuture;
use keynet_domain::entities::tasks::{self, Status};
use keynet_domain::tasks::TASKS_CHANNEL;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub trait TaskHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Does the task; `task.attempts` counts this attempt.
    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Called once when the task died because the workers running it were lost on every
    /// attempt (e.g. killed), so what it stands for can be marked failed.
    fn lost<'a>(&'a self, _task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub concurrency: usize,
    pub poll_interval: std::time::Duration,
    pub lease: Duration,
    pub shutdown_grace: std::time::Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            poll_interval: std::time::Duration::from_millis(250),
            lease: Duration::seconds(60),
            shutdown_grace: std::time::Duration::from_secs(30),
        }
    }
}

pub struct TaskRunner {
    db: DatabaseConnection,
    config: RunnerConfig,
    handlers: HashMap<&'static str, Arc<dyn TaskHandler>>,
    worker_id: String,
    wake: Notify,
}

impl TaskRunner {
    pub fn new(db: DatabaseConnection, config: RunnerConfig) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        Self {
            db,
            config,
            handlers: HashMap::new(),
            worker_id: format!("{host}:{}:{}", std::process::id(), uuid_suffix()),
            wake: Notify::new(),
        }
    }

    pub fn handle(mut self, handler: impl TaskHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// Runs until `shutdown` is cancelled, then drains as described above.
    pub async fn run(self, shutdown: CancellationToken) {
        let runner = Arc::new(self);
        let stop_claiming = shutdown.child_token();
        let mut slots = JoinSet::new();
        for slot in 0..runner.config.concurrency.max(1) {
            let runner = runner.clone();
            let stop = stop_claiming.clone();
            slots.spawn(async move { runner.claim_loop(slot, stop).await });
        }
        if runner.db.get_database_backend() == DatabaseBackend::Postgres {
            let runner = runner.clone();
            let stop = stop_claiming.clone();
            tokio::spawn(async move { runner.listen_for_tasks(stop).await });
        }
        tracing::info!(worker = %runner.worker_id, slots = runner.config.concurrency, "task runner started");
        shutdown.cancelled().await;
        let drained = tokio::time::timeout(runner.config.shutdown_grace, async {
            while slots.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("tasks still running after the grace period; releasing them");
            slots.abort_all();
            if let Err(e) = runner.release_own().await {
                tracing::error!(error = %e, "could not release tasks");
            }
        }
        tracing::info!(worker = %runner.worker_id, "task runner stopped");
    }

    async fn claim_loop(&self, slot: usize, stop: CancellationToken) {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        while !stop.is_cancelled() {
            match queue::claim(&self.db, &kinds, &self.worker_id, self.config.lease).await {
                Ok(Some(task)) => self.execute(task).await,
                Ok(None) => {
                    if slot == 0 {
                        self.bury_lost(&kinds).await;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(slot, error = %e, "claiming a task failed");
                    tokio::time::sleep(self.config.poll_interval * 4).await;
                }
            }
        }
    }

    /// Hands the tasks whose workers were all lost to their handlers, once.
    async fn bury_lost(&self, kinds: &[&str]) {
        let lost = match queue::bury_lost(&self.db, kinds).await {
            Ok(lost) => lost,
            Err(e) => {
                tracing::warn!(error = %e, "looking for lost tasks failed");
                return;
            }
        };
        for task in lost {
            tracing::error!(id = %task.id, kind = %task.kind, attempts = task.attempts, "task lost its worker on every attempt");
            if let Some(handler) = self.handlers.get(task.kind.as_str())
                && let Err(e) = handler.lost(&task).await
            {
                tracing::error!(id = %task.id, error = %format!("{e:#}"), "recording a lost task failed");
            }
        }
    }

    /// Wakes the idle claim loops whenever a task of one of our kinds is enqueued anywhere.
    async fn listen_for_tasks(&self, stop: CancellationToken) {
        let pool = self.db.get_postgres_connection_pool().clone();
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for new tasks; polling only");
                return;
            }
        };
        if let Err(e) = listener.listen(TASKS_CHANNEL).await {
            tracing::warn!(error = %e, "cannot LISTEN for new tasks; polling only");
            return;
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                notification = listener.recv() => match notification {
                    // One task, one worker: waking them all would send every idle worker
                    // to claim it. A permit is kept when none waits, so no wake-up is lost.
                    Ok(n) if self.handlers.contains_key(n.payload()) => self.wake.notify_one(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the task listener lost its connection; polling until it is back");
                        tokio::time::sleep(self.config.poll_interval).await;
                    }
                },
            }
        }
    }

    async fn execute(&self, task: tasks::Model) {
        let Some(handler) = self.handlers.get(task.kind.as_str()) else {
            return;
        };
        let span =
            tracing::info_span!("task", id = %task.id, kind = %task.kind, attempt = task.attempts);
        let _entered = span.enter();
        let outcome = {
            let beat = self.heartbeat(&task);
            tokio::pin!(beat);
            tokio::select! {
                outcome = handler.run(&task) => Some(outcome),
                _ = &mut beat => None,
            }
        };
        let recorded = match outcome {
            // Cancelled while running: the task is gone already (see `queue::cancel`).
            None => {
                tracing::info!("task cancelled");
                queue::complete(&self.db, task.id).await
            }
            Some(Ok(())) => queue::complete(&self.db, task.id).await,
            Some(Err(error)) => {
                let message = format!("{error:#}");
                match queue::fail(&self.db, &task, &message).await {
                    Ok(Status::Dead) => {
                        tracing::error!(error = %message, "task failed for the last time");
                        Ok(())
                    }
                    Ok(_) => {
                        tracing::warn!(error = %message, "task failed; will retry");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "could not record the task's outcome; its lease will run out");
        }
    }

    /// Keeps the lease while the task runs; returns when the task was cancelled.
    async fn heartbeat(&self, task: &tasks::Model) {
        let every = (self.config.lease / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(10));
        loop {
            tokio::time::sleep(every).await;
            match queue::heartbeat(&self.db, task.id, &self.worker_id, self.config.lease).await {
                Ok(queue::Lease::Kept) => {}
                Ok(queue::Lease::Cancelled) => return,
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    }

    async fn release_own(&self) -> Result<(), sea_orm::DbErr> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let running = tasks::Entity::find()
            .filter(tasks::Column::LockedBy.eq(self.worker_id.as_str()))
            .filter(tasks::Column::Status.eq(Status::Running))
            .all(&self.db)
            .await?;
        for task in running {
            queue::release(&self.db, task.id).await?;
        }
        Ok(())
    }
}

fn uuid_suffix() -> String {
    use rand::Rng;
    let n: u32 = rand::thread_rng().r#gen();
    format!("{n:08x}")
}
