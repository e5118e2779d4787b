//! Runs tasks: several claim loops, one per slot, each handing a task to the handler of its
//! kind while a heartbeat keeps the lease. On shutdown the loops stop claiming, running
//! tasks get a grace period, and whatever is still running then is released for others.

use crate::queue;
use chrono::Duration;
use futures_util::future::BoxFuture;
use keynet_domain::entities::tasks::{self, Status};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub trait TaskHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, payload: &'a serde_json::Value) -> BoxFuture<'a, anyhow::Result<()>>;
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
}

impl TaskRunner {
    pub fn new(db: DatabaseConnection, config: RunnerConfig) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        Self {
            db,
            config,
            handlers: HashMap::new(),
            worker_id: format!("{host}:{}:{}", std::process::id(), uuid_suffix()),
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
                    tokio::select! {
                        _ = stop.cancelled() => {}
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
                outcome = handler.run(&task.payload) => outcome,
                _ = &mut beat => unreachable!("the heartbeat never ends"),
            }
        };
        let recorded = match outcome {
            Ok(()) => queue::complete(&self.db, task.id).await,
            Err(error) => {
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

    async fn heartbeat(&self, task: &tasks::Model) {
        let every = (self.config.lease / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(10));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) =
                queue::heartbeat(&self.db, task.id, &self.worker_id, self.config.lease).await
            {
                tracing::warn!(error = %e, "heartbeat failed");
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
