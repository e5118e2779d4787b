//! Jobs: trainers and versions, starting training / inference / export jobs, the relay of
//! trainer events, the worker's side of a job's life, and the queries over what a job
//! recorded (events, logs, metric series, checkpoints, artifacts, predictions).

pub mod billing;
pub mod catalog;
pub mod compare;
pub mod follow;
pub mod inference_images;
pub mod input;
pub mod lifecycle;
pub mod queries;
pub mod relay;
pub mod start;
pub mod trainers;
pub mod uploads;

use crate::domain::Tx;
use crate::entities::jobs;
use crate::events::{Event, JobSummary, job_topic, org_jobs_topic};

/// The task that runs one attempt of a job.
pub const RUN_JOB: &str = "job.run";

pub fn summary(job: &jobs::Model) -> JobSummary {
    JobSummary {
        job_id: job.id,
        org_id: job.org_id,
        status: job.status,
        attempt: job.attempt,
        current_epoch: job.current_epoch,
        total_epochs: job.total_epochs,
        latest_metrics: job.latest_metrics.clone(),
        error_message: job.error_message.clone(),
    }
}

/// Tells the job's and the org's subscribers, once the transaction commits.
pub fn announce_job(tx: &mut Tx, job: &jobs::Model) {
    let event = Event::JobUpdated(summary(job));
    tx.announce(job_topic(job.id), event.clone());
    tx.announce(org_jobs_topic(job.org_id), event);
}
