//! The tasks a runner is running, and the ones it finished but has not deleted yet.
//!
//! Each claimed task runs in a Tokio task of its own: a slow or CPU-bound handler must hold
//! up neither the other slots nor the dispatcher (see `runner`). The dispatcher collects the
//! tasks that ended and deletes the finished ones in its next round, in the same commit as
//! its next claim. A finished task waits here for one round at most, still `running` under
//! this worker's lease: no other worker can claim it, and if this process dies first the
//! lease runs out and the task runs again, as it would if the process died just before
//! deleting it.

use keynet_domain::ids::TaskId;
use std::collections::HashMap;
use std::future::Future;
use tokio::task::{self, JoinError, JoinSet};

/// How a Tokio task running one claimed task ended.
type Ended = Result<(task::Id, Finished), JoinError>;

/// What a task's run leaves to the dispatcher.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finished {
    /// Done: delete it.
    Done,
    /// Its outcome was recorded otherwise (a failure, a cancellation): nothing to delete.
    Recorded,
}

#[derive(Default)]
pub struct Running {
    tasks: JoinSet<Finished>,
    /// Which claimed task each Tokio task runs, for the ones that end without an answer.
    ids: HashMap<task::Id, TaskId>,
    finished: Vec<TaskId>,
}

impl Running {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn spawn(&mut self, task: TaskId, run: impl Future<Output = Finished> + Send + 'static) {
        let handle = self.tasks.spawn(run);
        self.ids.insert(handle.id(), task);
    }

    /// Waits until a task ends; `None` when none runs. Cancel-safe, for `select!`; hand
    /// what it returns to [`Running::gather`].
    pub async fn next(&mut self) -> Option<Ended> {
        self.tasks.join_next_with_id().await
    }

    /// Records an ended task, then lets the tasks that are ready to run go first before
    /// collecting every one that ended meanwhile. Tasks claimed together that take about as
    /// long end together; without the yield the dispatcher, woken by the first, would be
    /// scheduled before the others and delete (and replace) them one at a time, a commit
    /// each. The yield costs one pass of the scheduler, no timer.
    pub async fn gather(&mut self, ended: Ended) {
        self.record(ended);
        task::yield_now().await;
        self.collect();
    }

    /// Records the tasks that ended, without waiting.
    pub fn collect(&mut self) {
        while let Some(ended) = self.tasks.try_join_next_with_id() {
            self.record(ended);
        }
    }

    /// Finished, not deleted yet.
    pub fn finished(&self) -> &[TaskId] {
        &self.finished
    }

    /// The tasks [`Running::finished`] returned were deleted.
    pub fn deleted(&mut self) {
        self.finished.clear();
    }

    /// Stops the tasks still running; returns them. The ones that ended meanwhile are
    /// recorded as usual.
    pub async fn abort(&mut self) -> Vec<TaskId> {
        self.tasks.abort_all();
        let mut unfinished = Vec::new();
        while let Some(ended) = self.tasks.join_next_with_id().await {
            if let Err(e) = &ended
                && e.is_cancelled()
                && let Some(task) = self.ids.remove(&e.id())
            {
                unfinished.push(task);
            } else {
                self.record(ended);
            }
        }
        unfinished
    }

    fn record(&mut self, ended: Ended) {
        match ended {
            Ok((id, outcome)) => {
                let task = self.ids.remove(&id);
                if outcome == Finished::Done
                    && let Some(task) = task
                {
                    self.finished.push(task);
                }
            }
            Err(e) => {
                // A panicking handler: the task keeps its lease until it runs out, then runs
                // again (the attempt counts), as if this worker had crashed.
                let task = self.ids.remove(&e.id());
                tracing::error!(id = ?task, error = %e, "a task's handler panicked; its lease will run out");
            }
        }
    }
}
