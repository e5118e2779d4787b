//! The outbox side of the durable task queue: domain writes enqueue follow-up work in their
//! own transaction; the workers crate claims and runs it.

use crate::entities::tasks;
use crate::error::Result;
use crate::ids::TaskId;
use crate::time::now;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

pub const SEND_EMAIL: &str = "email.send";

pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

pub async fn enqueue(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: serde_json::Value,
) -> Result<TaskId> {
    let at = now();
    let task = tasks::ActiveModel {
        id: Set(TaskId::new()),
        kind: Set(kind.to_string()),
        payload: Set(payload),
        status: Set(tasks::Status::Queued),
        priority: Set(0),
        attempts: Set(0),
        max_attempts: Set(DEFAULT_MAX_ATTEMPTS),
        run_at: Set(at),
        locked_until: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(task.id)
}
