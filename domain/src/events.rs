//! The event-bus port: what subscriptions listen to. The embedded default delivers in
//! process; a PostgreSQL-backed bus fans out across instances.

use crate::entities::audit_log;
use crate::ids::{DatasetId, DatasetUploadId, OrgId};
use futures_util::stream::{self, BoxStream};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    AuditEntryAdded(audit_log::Model),
    /// An import moved on (queued, importing, succeeded, failed).
    DatasetImport {
        dataset_id: DatasetId,
        upload_id: DatasetUploadId,
        status: String,
    },
}

pub fn dataset_topic(dataset: DatasetId) -> String {
    format!("dataset:{dataset}")
}

pub fn org_audit_topic(org: OrgId) -> String {
    format!("org:{org}:audit")
}

pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, topic: &str, event: Event);
    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event>;
}

/// Subscribers that fall this far behind skip the oldest events rather than hold memory.
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Default)]
pub struct LocalEventBus {
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl EventBus for LocalEventBus {
    fn publish(&self, topic: &str, event: Event) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = topics.get(topic)
            && sender.send(event).is_err()
        {
            // Nobody listens any more: forget the topic so the map does not grow forever.
            topics.remove(topic);
        }
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
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "a slow subscriber skipped events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}
