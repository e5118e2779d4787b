//! The event bus across instances: a transaction's announcements are `NOTIFY`s sent inside
//! that transaction, so PostgreSQL delivers them exactly when it commits, in commit order,
//! and a process that dies after its commit has nothing left to send. Every instance
//! `LISTEN`s and hands what arrives to its local subscribers. An event larger than a
//! `NOTIFY` payload travels through the `bus_messages` table (written in the same
//! transaction) and the notification carries only its id.

use super::{Announcements, Event, EventBus, LocalEventBus};
use crate::entities::bus_messages;
use crate::ids::BusMessageId;
use crate::time::now;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "keynet_events";
/// PostgreSQL refuses payloads of 8,000 bytes or more.
const MAX_INLINE_PAYLOAD: usize = 7_900;
/// Large events are kept this long for the instances to read them.
const KEEP_LARGE_EVENTS_MINUTES: i64 = 10;
/// Old large events are deleted after every this many commits with announcements.
const FORGET_LARGE_EVENTS_EVERY: u64 = 1000;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Inline { topic: String, event: Event },
    Stored { stored: BusMessageId },
}

pub struct PgEventBus {
    db: DatabaseConnection,
    local: Arc<LocalEventBus>,
    commits: AtomicU64,
}

impl PgEventBus {
    /// Starts listening; the listener stops with `shutdown`.
    pub async fn start(
        db: DatabaseConnection,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let pool = db.get_postgres_connection_pool().clone();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let local = Arc::new(LocalEventBus::default());
        tokio::spawn(listen_loop(db.clone(), listener, local.clone(), shutdown));
        Ok(Arc::new(Self {
            db,
            local,
            commits: AtomicU64::new(0),
        }))
    }

    async fn commit_announced(
        &self,
        txn: DatabaseTransaction,
        announcements: Announcements,
    ) -> Result<(), DbErr> {
        if announcements.is_empty() {
            return txn.commit().await;
        }
        let mut payloads = Vec::with_capacity(announcements.len());
        for (topic, event) in announcements {
            payloads.push(wire_payload(&txn, topic, event).await?);
        }
        // One round trip for all of them; a function scan keeps the array's order.
        let payloads = serde_json::to_string(&payloads).map_err(internal)?;
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, payload) FROM json_array_elements_text($2::json) AS payload",
            [CHANNEL.into(), payloads.into()],
        ))
        .await?;
        txn.commit().await?;
        if (self.commits.fetch_add(1, Ordering::Relaxed) + 1)
            .is_multiple_of(FORGET_LARGE_EVENTS_EVERY)
        {
            forget_old_large_events(&self.db).await;
        }
        Ok(())
    }
}

impl EventBus for PgEventBus {
    fn commit(
        &self,
        txn: DatabaseTransaction,
        announcements: Announcements,
    ) -> BoxFuture<'_, Result<(), DbErr>> {
        Box::pin(self.commit_announced(txn, announcements))
    }

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event> {
        self.local.subscribe(topic)
    }
}

fn internal(error: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("cannot encode an event for the bus: {error}"))
}

async fn wire_payload(
    txn: &DatabaseTransaction,
    topic: String,
    event: Event,
) -> Result<String, DbErr> {
    let inline = serde_json::to_string(&Wire::Inline { topic, event }).map_err(internal)?;
    if inline.len() <= MAX_INLINE_PAYLOAD {
        return Ok(inline);
    }
    let stored = bus_messages::ActiveModel {
        id: Set(BusMessageId::new()),
        payload: Set(serde_json::from_str(&inline).map_err(internal)?),
        created_at: Set(now()),
    }
    .insert(txn)
    .await?;
    serde_json::to_string(&Wire::Stored { stored: stored.id }).map_err(internal)
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
            n = listener.try_recv() => n,
            _ = shutdown.cancelled() => return,
        };
        match notification {
            Ok(Some(notification)) => match decode(&db, notification.payload()).await {
                Ok((topic, event)) => local.publish(&topic, event),
                Err(e) => tracing::warn!(error = %e, "an unreadable event on the bus"),
            },
            // The connection was lost and is listening again: what was sent meanwhile is
            // lost, so every subscriber is told to read its view again from the database.
            Ok(None) => {
                tracing::warn!("the event listener reconnected");
                local.publish_missed();
            }
            Err(e) => {
                tracing::warn!(error = %e, "the event listener failed");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                local.publish_missed();
            }
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
