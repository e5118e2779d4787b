//! Live views of one job for subscriptions: its events, each once and in order with no gap,
//! and its status; both end once the job is final and its last event was passed on.
//!
//! The bus is a notice, the store is the truth: an announcement that skips ahead (one was
//! lost, or the subscriber fell behind) makes the view read the missing range from the store
//! before it goes on, and so does a notice from the bus that announcements were missed.

use super::summary;
use crate::domain::Domain;
use crate::entities::{job_events, jobs};
use crate::error::{Error, Result};
use crate::events::{Event, JobSummary, job_events_topic, job_topic};
use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::EntityTrait;
use std::collections::VecDeque;
use std::sync::Arc;

impl Domain {
    /// The job's stored events after `after`, then new ones as they are stored, each once and
    /// in order; ends after the last event of a final job.
    pub fn follow_job_events(
        self: Arc<Self>,
        job: &jobs::Model,
        after: i64,
    ) -> BoxStream<'static, Result<job_events::Model>> {
        // Subscribed before anything is read, so nothing falls in between.
        let live = stream::select(
            self.events.subscribe(&job_events_topic(job.id)),
            self.events.subscribe(&job_topic(job.id)),
        )
        .boxed();
        let follower = EventFollower {
            domain: self,
            job: job.id,
            live,
            last: after,
            ready: VecDeque::new(),
            read_store: true,
            job_final: None,
        };
        stream::unfold(follower, |mut follower| async move {
            follower.next().await.map(|item| (item, follower))
        })
        .boxed()
    }

    /// The job's status and progress as they change; a job already final is sent once. Ends
    /// with the job's final state.
    pub fn follow_job(
        self: Arc<Self>,
        job: &jobs::Model,
    ) -> BoxStream<'static, Result<JobSummary>> {
        let live = self.events.subscribe(&job_topic(job.id));
        let follower = StatusFollower {
            domain: self,
            job: job.id,
            live,
            sent: None,
            reload: true,
            started: false,
        };
        stream::unfold(follower, |mut follower| async move {
            follower.next().await.map(|item| (item, follower))
        })
        .boxed()
    }

    async fn current_job(&self, job: crate::ids::JobId) -> Result<jobs::Model> {
        jobs::Entity::find_by_id(job)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("job"))
    }
}

struct EventFollower {
    domain: Arc<Domain>,
    job: crate::ids::JobId,
    live: BoxStream<'static, Event>,
    /// The `seq` of the last event passed on.
    last: i64,
    ready: VecDeque<job_events::Model>,
    /// Whether the store may hold events after `last` that were not announced to us.
    read_store: bool,
    /// Whether the job was final when the store was last read; `None` until it is known.
    job_final: Option<bool>,
}

impl EventFollower {
    async fn next(&mut self) -> Option<Result<job_events::Model>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.read_store {
                match self.read_after_last().await {
                    Ok(true) => continue,
                    Ok(false) => self.read_store = false,
                    Err(e) => return Some(Err(e)),
                }
                if self.job_final == Some(true) {
                    return None;
                }
            }
            match self.live.next().await? {
                Event::JobEvent(event) if event.seq == self.last + 1 => {
                    self.last = event.seq;
                    return Some(Ok(event));
                }
                // Announced before, or read from the store already.
                Event::JobEvent(event) if event.seq <= self.last => {}
                // A gap: the store has what was not announced.
                Event::JobEvent(_) | Event::Missed => self.read_store = true,
                Event::JobUpdated(job) if job.status.is_terminal() => self.read_store = true,
                _ => {}
            }
        }
    }

    /// Reads the stored events after `last` (one page); false when there are none. The job's
    /// state is read first: a job final before the read has stored its last event by then.
    async fn read_after_last(&mut self) -> Result<bool> {
        let job = self.domain.current_job(self.job).await?;
        let page = self.domain.job_events(&job, self.last, None).await?;
        self.job_final = Some(job.status.is_terminal());
        let Some(newest) = page.last().map(|event| event.seq) else {
            return Ok(false);
        };
        self.last = newest;
        self.ready.extend(page);
        Ok(true)
    }
}

struct StatusFollower {
    domain: Arc<Domain>,
    job: crate::ids::JobId,
    live: BoxStream<'static, Event>,
    /// The last summary passed on; `Some` with a final status ends the stream.
    sent: Option<JobSummary>,
    /// Whether the job should be read from the store (at the start, or after a miss).
    reload: bool,
    started: bool,
}

impl StatusFollower {
    async fn next(&mut self) -> Option<Result<JobSummary>> {
        loop {
            if self.sent.as_ref().is_some_and(|s| s.status.is_terminal()) {
                return None;
            }
            let update = if self.reload {
                self.reload = false;
                let starting = !self.started;
                self.started = true;
                match self.domain.current_job(self.job).await {
                    // Still going at the start: only its changes are sent.
                    Ok(job) if starting && !job.status.is_terminal() => continue,
                    Ok(job) => summary(&job),
                    Err(e) => return Some(Err(e)),
                }
            } else {
                match self.live.next().await? {
                    Event::JobUpdated(update) => update,
                    Event::Missed => {
                        self.reload = true;
                        continue;
                    }
                    _ => continue,
                }
            };
            if self
                .sent
                .as_ref()
                .is_some_and(|sent| same_state(sent, &update))
            {
                continue;
            }
            self.sent = Some(update.clone());
            return Some(Ok(update));
        }
    }
}

fn same_state(a: &JobSummary, b: &JobSummary) -> bool {
    a.status == b.status
        && a.attempt == b.attempt
        && a.current_epoch == b.current_epoch
        && a.latest_metrics == b.latest_metrics
        && a.error_message == b.error_message
}
