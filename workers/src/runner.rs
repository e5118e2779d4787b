//! Runs tasks: one dispatcher per runner claims due tasks for all of its idle slots at once
//! and runs each in a Tokio task of its own, the handler of its kind doing the work while a
//! heartbeat keeps the lease. Idle runners wake up when PostgreSQL announces a new task
//! (`LISTEN`), and poll anyway as a fallback (and on SQLite). On shutdown the dispatcher
//! stops claiming, running tasks get a grace period, and whatever is still running then is
//! released for others.
//!
//! Why one dispatcher rather than a claim loop per slot: on a server that waits for its
//! log to reach the disk at every commit, commits per task bound the throughput, and a
//! loop per slot spends one commit on each claim and one on each deletion. The dispatcher
//! spends one per round: the tasks finished since its last round are deleted and the idle
//! slots refilled in one commit ([`queue::complete_and_claim`]). Under a burst the
//! slots end together and a round carries several of each; when tasks are rare a round is
//! the single claim statement an idle slot would have sent, so pickup is as fast. Claims
//! never exceed the idle slots: a task is not leased before a slot can start it, so other
//! runners can take it meanwhile, and an urgent task enqueued later is not stuck behind it.

use crate::completions::{Finished, Running};
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
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub trait TaskHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Does the task; `task.attempts` counts this attempt.
    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>>;

    /// What a dead task keeps of its payload (for an operator to inspect): `None` keeps it
    /// whole. A handler whose payloads carry secrets drops them here; a task that succeeds
    /// is deleted, so this is the only other way out of the queue.
    fn dead_payload(&self, _payload: &serde_json::Value) -> Option<serde_json::Value> {
        None
    }

    /// Called once when the task died because the workers running it were lost on every
    /// attempt (e.g. killed), so what it stands for can be marked failed.
    fn lost<'a>(&'a self, _task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// A crashed worker's task is taken up again within this many seconds; a live worker renews
/// its lease every third of it. Shorter fails over faster, but a worker that stalls longer
/// (a database outage, a frozen host) loses its tasks to others.
pub const DEFAULT_LEASE_SECS: i64 = 10;

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
            lease: Duration::seconds(DEFAULT_LEASE_SECS),
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
        if runner.db.get_database_backend() == DatabaseBackend::Postgres {
            let runner = runner.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move { runner.listen_for_tasks(stop).await });
        }
        {
            let runner = runner.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move { runner.look_for_lost(stop).await });
        }
        tracing::info!(worker = %runner.worker_id, slots = runner.config.concurrency, "task runner started");
        let running = runner.dispatch(&shutdown).await;
        runner.drain(running).await;
        tracing::info!(worker = %runner.worker_id, "task runner stopped");
    }

    /// Claims for the idle slots and deletes finished tasks, one round at a time, until
    /// `stop`; returns what is still running then.
    async fn dispatch(self: &Arc<Self>, stop: &CancellationToken) -> Running {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let slots = self.config.concurrency.max(1);
        let mut running = Running::default();
        // Whether a claim may find something: at the start, after a wake-up or a poll, and
        // as long as claims come back full. An empty or short claim means nothing else is
        // due until the next wake-up or poll.
        let mut maybe_due = true;
        while !stop.is_cancelled() {
            // Tasks that ended during the last round free their slots for this one.
            running.collect();
            let idle = slots - running.len();
            let wanted = if maybe_due { idle } else { 0 };
            if wanted > 0 || !running.finished().is_empty() {
                match queue::complete_and_claim(
                    &self.db,
                    running.finished(),
                    &kinds,
                    &self.worker_id,
                    self.config.lease,
                    wanted,
                )
                .await
                {
                    Ok(claimed) => {
                        running.deleted();
                        if wanted > 0 {
                            maybe_due = claimed.len() == wanted;
                        }
                        for task in claimed {
                            let runner = self.clone();
                            running.spawn(task.id, async move { runner.execute(task).await });
                        }
                    }
                    Err(e) => {
                        // The finished tasks stay listed, to be deleted in a later round.
                        tracing::error!(error = %e, "claiming or completing tasks failed");
                        tokio::select! {
                            _ = stop.cancelled() => {}
                            _ = tokio::time::sleep(self.config.poll_interval * 4) => {}
                        }
                    }
                }
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                Some(ended) = running.next() => running.gather(ended).await,
                // Also while every slot is busy: the permit is taken, and the next free
                // slot claims.
                _ = self.wake.notified() => maybe_due = true,
                _ = tokio::time::sleep(self.config.poll_interval), if idle > 0 => maybe_due = true,
            }
        }
        running
    }

    /// Gives the running tasks the grace period, deleting those that finish; then stops the
    /// rest and releases them. The finished ones are deleted before the others are
    /// released, so none of them goes back to the queue.
    async fn drain(&self, mut running: Running) {
        let deadline = tokio::time::Instant::now() + self.config.shutdown_grace;
        while !running.is_empty() {
            tokio::select! {
                Some(ended) = running.next() => running.gather(ended).await,
                _ = tokio::time::sleep_until(deadline) => break,
            }
            // A failure is retried below, and reported there.
            if !running.finished().is_empty()
                && queue::complete(&self.db, running.finished()).await.is_ok()
            {
                running.deleted();
            }
        }
        let unfinished = running.abort().await;
        if !running.finished().is_empty()
            && let Err(e) = queue::complete(&self.db, running.finished()).await
        {
            tracing::error!(tasks = running.finished().len(), error = %e, "could not remove finished tasks; their leases will run out");
        }
        if !unfinished.is_empty() {
            tracing::warn!(
                tasks = unfinished.len(),
                "tasks still running after the grace period; releasing them"
            );
            if let Err(e) = queue::release(&self.db, &unfinished, &self.worker_id).await {
                tracing::error!(error = %e, "could not release tasks; their leases will run out");
            }
        }
    }

    /// Reports the tasks whose workers were all lost, every poll interval until `stop`.
    async fn look_for_lost(&self, stop: CancellationToken) {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.config.poll_interval) => self.bury_lost(&kinds).await,
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
            let Some(handler) = self.handlers.get(task.kind.as_str()) else {
                continue;
            };
            self.strip_dead(handler.as_ref(), &task).await;
            if let Err(e) = handler.lost(&task).await {
                tracing::error!(id = %task.id, error = %format!("{e:#}"), "recording a lost task failed");
            }
        }
    }

    /// Leaves a dead task only what its handler wants kept (see
    /// [`TaskHandler::dead_payload`]).
    async fn strip_dead(&self, handler: &dyn TaskHandler, task: &tasks::Model) {
        let Some(payload) = handler.dead_payload(&task.payload) else {
            return;
        };
        if let Err(e) = queue::replace_payload(&self.db, task.id, payload).await {
            tracing::error!(id = %task.id, error = %e, "could not strip a dead task's payload");
        }
    }

    /// Wakes the dispatcher whenever a task of one of our kinds is enqueued anywhere.
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
                    // The dispatcher claims for every idle slot, so one wake-up is enough
                    // for any number of tasks. A permit is kept while it is not waiting
                    // (in a round, or every slot busy), so no wake-up is lost.
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

    async fn execute(&self, task: tasks::Model) -> Finished {
        let Some(handler) = self.handlers.get(task.kind.as_str()) else {
            return Finished::Recorded;
        };
        let span =
            tracing::info_span!("task", id = %task.id, kind = %task.kind, attempt = task.attempts);
        async {
            let outcome = {
                let beat = self.heartbeat(&task);
                tokio::pin!(beat);
                tokio::select! {
                    outcome = handler.run(&task) => Some(outcome),
                    _ = &mut beat => None,
                }
            };
            match outcome {
                // Cancelled while running (the task is gone already, see `queue::cancel`), or
                // taken over by another worker after this one stalled past its lease.
                None => tracing::info!("task stopped: cancelled or taken over"),
                // Deleted by the dispatcher's next round.
                Some(Ok(())) => return Finished::Done,
                Some(Err(error)) => {
                    let message = format!("{error:#}");
                    let dead_payload = handler.dead_payload(&task.payload);
                    match queue::fail(&self.db, &task, &message, dead_payload).await {
                        Ok(Status::Dead) => {
                            tracing::error!(error = %message, "task failed for the last time");
                        }
                        Ok(_) => tracing::warn!(error = %message, "task failed; will retry"),
                        Err(e) => {
                            tracing::error!(error = %e, "could not record the task's failure; its lease will run out");
                        }
                    }
                }
            }
            Finished::Recorded
        }
        .instrument(span)
        .await
    }

    /// Keeps the lease while the task runs; returns when the task was cancelled or taken
    /// over by another worker.
    async fn heartbeat(&self, task: &tasks::Model) {
        let every = (self.config.lease / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(10));
        loop {
            tokio::time::sleep(every).await;
            match queue::heartbeat(&self.db, task.id, &self.worker_id, self.config.lease).await {
                Ok(queue::Lease::Kept) => {}
                Ok(queue::Lease::Cancelled) => return,
                Ok(queue::Lease::Lost) => {
                    tracing::warn!("the lease ran out and another worker took the task over");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    }
}

fn uuid_suffix() -> String {
    use rand::Rng;
    let n: u32 = rand::thread_rng().r#gen();
    format!("{n:08x}")
}
