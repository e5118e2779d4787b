//! The event bus across instances: `publish` sends a `NOTIFY` on one channel, every
//! instance `LISTEN`s and hands what arrives to its local subscribers. One sender task keeps
//! the order of publications; an event larger than a `NOTIFY` payload travels through the
//! `bus_messages` table and the notification carries only its id.

use super::{Event, EventBus, LocalEventBus};
use crate::entities::bus_messages;
use crate::ids::BusMessageId;
use crate::time::now;
use futures_util::stream::BoxStream;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "keynet_events";
/// PostgreSQL refuses payloads of 8,000 bytes or more.
const MAX_INLINE_PAYLOAD: usize = 7_900;
/// Large events are kept this long for the instances to read them.
const KEEP_LARGE_EVENTS_MINUTES: i64 = 10;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Inline { topic: String, event: Event },
    Stored { stored: BusMessageId },
}

pub struct PgEventBus {
    local: Arc<LocalEventBus>,
    outbox: mpsc::UnboundedSender<(String, Event)>,
}

impl PgEventBus {
    /// Starts listening and sending; both stop with `shutdown`.
    pub async fn start(
        db: DatabaseConnection,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let pool = db.get_postgres_connection_pool().clone();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let local = Arc::new(LocalEventBus::default());
        let (outbox, queued) = mpsc::unbounded_channel();
        tokio::spawn(send_loop(db.clone(), queued, shutdown.clone()));
        tokio::spawn(listen_loop(db, listener, local.clone(), shutdown));
        Ok(Arc::new(Self { local, outbox }))
    }
}

impl EventBus for PgEventBus {
    fn publish(&self, topic: &str, event: Event) {
        if self.outbox.send((topic.to_string(), event)).is_err() {
            tracing::warn!(topic, "the event bus has stopped; an event was dropped");
        }
    }

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event> {
        self.local.subscribe(topic)
    }
}

async fn send_loop(
    db: DatabaseConnection,
    mut queued: mpsc::UnboundedReceiver<(String, Event)>,
    shutdown: CancellationToken,
) {
    let pool = db.get_postgres_connection_pool().clone();
    let mut sent: u64 = 0;
    loop {
        let (topic, event) = tokio::select! {
            next = queued.recv() => match next {
                Some(next) => next,
                None => return,
            },
            _ = shutdown.cancelled() => return,
        };
        let payload = match wire_payload(&db, topic, event).await {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "could not prepare an event for the bus");
                continue;
            }
        };
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(&pool)
            .await
        {
            tracing::error!(error = %e, "could not publish an event");
        }
        sent += 1;
        if sent.is_multiple_of(1000) {
            forget_old_large_events(&db).await;
        }
    }
}

async fn wire_payload(
    db: &DatabaseConnection,
    topic: String,
    event: Event,
) -> anyhow::Result<String> {
    let inline = serde_json::to_string(&Wire::Inline { topic, event })?;
    if inline.len() <= MAX_INLINE_PAYLOAD {
        return Ok(inline);
    }
    let stored = bus_messages::ActiveModel {
        id: Set(BusMessageId::new()),
        payload: Set(serde_json::from_str(&inline)?),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(serde_json::to_string(&Wire::Stored { stored: stored.id })?)
}

async fn forget_old_large_events(db: &DatabaseConnection) {
    let before = now() - chrono::Duration::minutes(KEEP_LARGE_EVENTS_MINUTES);
    if let Err(e) = bus_messages::Entity::delete_many()
        .filter(bus_messages::Column::CreatedAt.lt(before))
        .exec(db)
        .await
    {
        tracing::warn!(error = %e, "could not delete old bus messages");
    }
}

async fn listen_loop(
    db: DatabaseConnection,
    mut listener: PgListener,
    local: Arc<LocalEventBus>,
    shutdown: CancellationToken,
) {
    loop {
        let notification = tokio::select! {
            n = listener.recv() => n,
            _ = shutdown.cancelled() => return,
        };
        let notification = match notification {
            Ok(n) => n,
            Err(e) => {
                // sqlx reconnects on the next `recv`; what was sent meanwhile is lost, which
                // subscriptions that replay from the database (job events) make up for.
                tracing::warn!(error = %e, "the event listener lost its connection");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
        };
        match decode(&db, notification.payload()).await {
            Ok((topic, event)) => local.publish(&topic, event),
            Err(e) => tracing::warn!(error = %e, "an unreadable event on the bus"),
        }
    }
}

async fn decode(db: &DatabaseConnection, payload: &str) -> anyhow::Result<(String, Event)> {
    match serde_json::from_str::<Wire>(payload)? {
        Wire::Inline { topic, event } => Ok((topic, event)),
        Wire::Stored { stored } => {
            let row = bus_messages::Entity::find_by_id(stored)
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("bus message {stored} is gone"))?;
            match serde_json::from_value::<Wire>(row.payload)? {
                Wire::Inline { topic, event } => Ok((topic, event)),
                Wire::Stored { .. } => anyhow::bail!("bus message {stored} refers to another"),
            }
        }
    }
}
