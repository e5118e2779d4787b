//! The event-bus port: what subscriptions listen to. The embedded default delivers in
//! process; a PostgreSQL-backed bus fans out across instances.

use crate::entities::dataset_uploads::UploadStatus;
use crate::entities::deployments::DeploymentStatus;
use crate::entities::jobs::JobStatus;
use crate::entities::{audit_log, job_events, job_logs, trainer_versions};
use crate::ids::{
    DatasetId, DatasetUploadId, DeploymentId, JobId, OrgId, TrainerVersionId, UserId,
};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use sea_orm::{DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

mod postgres;
pub use postgres::PgEventBus;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    AuditEntryAdded(audit_log::Model),
    /// An import moved on (queued, importing, succeeded, failed).
    DatasetImport {
        dataset_id: DatasetId,
        upload_id: DatasetUploadId,
        status: UploadStatus,
    },
    /// A job's status, epoch or latest metrics changed.
    JobUpdated(JobSummary),
    /// A trainer event was stored as the job's event number `seq`.
    JobEvent(job_events::Model),
    JobLog(job_logs::Model),
    /// A trainer version moved through its checks (status, report so far).
    TrainerVersionUpdated(Box<trainer_versions::Model>),
    /// An organization's use of a quota reached a threshold (80 % or 100 %) this period.
    UsageThresholdReached(UsageThreshold),
    /// What a user may see changed: a membership or role, an organization deleted, a session
    /// or an API token revoked. Live views of that user check their access again.
    AccessChanged {
        user_id: UserId,
    },
    /// A deployment's status, reason or replicas changed.
    DeploymentUpdated(DeploymentSummary),
    /// Never announced: the bus tells a subscriber that it may have missed announcements
    /// (it fell behind, or the bus lost its connection), so what it shows should be read
    /// again from the store.
    Missed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UsageThreshold {
    pub org_id: OrgId,
    /// e.g. `gpu_seconds_per_month`.
    pub quota: String,
    pub percent: i32,
    pub used: i64,
    pub limit: i64,
    pub period_start: chrono::DateTime<chrono::Utc>,
}

/// What `jobUpdated` and `orgJobs` carry: enough for a progress bar without a query.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobSummary {
    pub job_id: JobId,
    pub org_id: OrgId,
    pub status: JobStatus,
    pub attempt: i32,
    pub current_epoch: Option<i32>,
    pub total_epochs: Option<i32>,
    pub latest_metrics: Option<serde_json::Value>,
    pub error_message: Option<String>,
}

/// What `deploymentUpdated` carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub deployment_id: DeploymentId,
    pub org_id: OrgId,
    pub status: DeploymentStatus,
    pub status_reason: Option<String>,
    /// Replicas ready to answer.
    pub ready_replicas: i64,
}

/// Status and replicas of one deployment.
pub fn deployment_topic(deployment: DeploymentId) -> String {
    format!("deployment:{deployment}")
}

/// Status and progress of one job.
pub fn job_topic(job: JobId) -> String {
    format!("job:{job}")
}

/// The stored trainer events of one job, in `seq` order.
pub fn job_events_topic(job: JobId) -> String {
    format!("job:{job}:events")
}

pub fn job_logs_topic(job: JobId) -> String {
    format!("job:{job}:logs")
}

/// Status changes of every job of an organization.
pub fn org_jobs_topic(org: OrgId) -> String {
    format!("org:{org}:jobs")
}

/// Status and checks of one trainer version.
pub fn trainer_version_topic(version: TrainerVersionId) -> String {
    format!("trainer-version:{version}")
}

pub fn dataset_topic(dataset: DatasetId) -> String {
    format!("dataset:{dataset}")
}

/// Quota thresholds an organization reached.
pub fn org_usage_topic(org: OrgId) -> String {
    format!("org:{org}:usage")
}

/// Changes to what one user may see (see [`Event::AccessChanged`]).
pub fn user_access_topic(user: UserId) -> String {
    format!("user:{user}:access")
}

pub fn org_audit_topic(org: OrgId) -> String {
    format!("org:{org}:audit")
}

/// A transaction's announcements: `(topic, event)` in the order they were made.
pub type Announcements = Vec<(String, Event)>;

pub trait EventBus: Send + Sync + 'static {
    /// Commits `txn` with its announcements: subscribers hear of them if and only if the
    /// transaction commits, and nothing is left to do once the commit returned, so a process
    /// that dies right after its commit loses no announcement.
    fn commit(
        &self,
        txn: DatabaseTransaction,
        announcements: Announcements,
    ) -> BoxFuture<'_, Result<(), DbErr>>;

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event>;
}

/// Subscribers that fall this far behind skip the oldest events rather than hold memory, and
/// are told so (`Event::Missed`).
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Default)]
pub struct LocalEventBus {
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl LocalEventBus {
    /// Hands `event` to this process's subscribers of `topic`.
    pub fn publish(&self, topic: &str, event: Event) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = topics.get(topic)
            && sender.send(event).is_err()
        {
            // Nobody listens any more: forget the topic so the map does not grow forever.
            topics.remove(topic);
        }
    }

    /// Tells every subscriber of this process that it may have missed announcements.
    pub fn publish_missed(&self) {
        let topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        for sender in topics.values() {
            // A topic nobody listens to any more is forgotten by its next `publish`.
            let _ = sender.send(Event::Missed);
        }
    }
}

/// The embedded default: one process holds every subscriber, so what it announces after the
/// commit dies with them if the process does.
impl EventBus for LocalEventBus {
    fn commit(
        &self,
        txn: DatabaseTransaction,
        announcements: Announcements,
    ) -> BoxFuture<'_, Result<(), DbErr>> {
        Box::pin(async move {
            txn.commit().await?;
            for (topic, event) in announcements {
                self.publish(&topic, event);
            }
            Ok(())
        })
    }

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event> {
        let receiver = {
            let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
            topics
                .entry(topic.to_string())
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .subscribe()
        };
        Box::pin(stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(event) => Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a slow subscriber skipped events");
                    Some((Event::Missed, receiver))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }))
    }
}
