//! The outbox side of the durable task queue: domain writes enqueue follow-up work in their
//! own transaction; the workers crate claims and runs it.

use crate::entities::tasks;
use crate::error::Result;
use crate::ids::TaskId;
use crate::time::now;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, Set, Statement};

pub const SEND_EMAIL: &str = "email.send";

pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// The PostgreSQL channel that announces new tasks (the payload is the task's kind).
pub const TASKS_CHANNEL: &str = "keynet_tasks";

pub async fn enqueue(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: serde_json::Value,
) -> Result<TaskId> {
    enqueue_with(db, kind, payload, 0, DEFAULT_MAX_ATTEMPTS).await
}

/// Enqueues with a priority (higher runs first) and a number of attempts before the task is
/// dead. On PostgreSQL a `NOTIFY` wakes idle workers when the transaction commits.
pub async fn enqueue_with(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: serde_json::Value,
    priority: i32,
    max_attempts: i32,
) -> Result<TaskId> {
    let at = now();
    let task = tasks::ActiveModel {
        id: Set(TaskId::new()),
        kind: Set(kind.to_string()),
        payload: Set(payload),
        status: Set(tasks::Status::Queued),
        priority: Set(priority),
        attempts: Set(0),
        max_attempts: Set(max_attempts),
        run_at: Set(at),
        locked_until: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [TASKS_CHANNEL.into(), kind.into()],
        ))
        .await?;
    }
    Ok(task.id)
}
