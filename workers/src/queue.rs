//! Claiming, finishing and retrying tasks. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`
//! so many workers never take the same task; SQLite has a single writer, so the same
//! `UPDATE … RETURNING` is already exclusive there.

use chrono::Duration;
use keynet_domain::entities::tasks::{self, Status};
use keynet_domain::ids::TaskId;
use keynet_domain::time::{Timestamp, now};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};

/// Takes the most urgent task that is due, or else one whose worker's lease ran out (unless
/// it has used all its attempts: see [`bury_lost`]).
pub async fn claim(
    db: &impl ConnectionTrait,
    kinds: &[&str],
    worker: &str,
    lease: Duration,
) -> Result<Option<tasks::Model>, DbErr> {
    // Two statements, each served by its own partial index (`idx_tasks_due`,
    // `idx_tasks_leased`), so a claim reads a few index entries whatever the backlog; one
    // statement with an `OR` of both cases would sort the whole queue on every claim.
    if let Some(task) = claim_where(db, kinds, worker, lease, DUE).await? {
        return Ok(Some(task));
    }
    claim_where(db, kinds, worker, lease, LEASE_RAN_OUT).await
}

/// Queued and due, most urgent first.
const DUE: &str = "status = 'queued' AND run_at <= {now} ORDER BY priority DESC, run_at";
/// Running, but its worker stopped renewing the lease; attempts left.
const LEASE_RAN_OUT: &str = "status = 'running' AND locked_until < {now} \
    AND attempts < max_attempts ORDER BY locked_until";

async fn claim_where(
    db: &impl ConnectionTrait,
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    condition: &str,
) -> Result<Option<tasks::Model>, DbErr> {
    let backend = db.get_database_backend();
    let at = now();
    let kinds_json = serde_json::to_string(kinds).map_err(|e| DbErr::Custom(e.to_string()))?;
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = $1, \
             locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM tasks \
                WHERE kind IN (SELECT jsonb_array_elements_text($4::jsonb)) AND {} \
                LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
            condition.replace("{now}", "$3")
        ),
        _ => format!(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = ?1, \
             locked_until = ?2, updated_at = ?3 \
             WHERE id = (SELECT id FROM tasks \
                WHERE kind IN (SELECT value FROM json_each(?4)) AND {} \
                LIMIT 1) \
             RETURNING *",
            condition.replace("{now}", "?3")
        ),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            worker.into(),
            (at + lease).into(),
            at.into(),
            kinds_json.into(),
        ],
    );
    tasks::Entity::find().from_raw_sql(statement).one(db).await
}

pub enum Lease {
    Kept,
    /// The task was cancelled (deleted) while it ran: stop working on it.
    Cancelled,
}

/// Extends the lease of a task that is still being worked on.
pub async fn heartbeat(
    db: &impl ConnectionTrait,
    task: TaskId,
    worker: &str,
    lease: Duration,
) -> Result<Lease, DbErr> {
    let extended = tasks::Entity::update_many()
        .col_expr(tasks::Column::LockedUntil, Expr::value(now() + lease))
        .filter(tasks::Column::Id.eq(task))
        .filter(tasks::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    if extended.rows_affected == 1 {
        return Ok(Lease::Kept);
    }
    let exists = tasks::Entity::find_by_id(task).one(db).await?.is_some();
    // Still there but locked by another worker: our lease ran out and it was taken over.
    Ok(if exists {
        Lease::Kept
    } else {
        Lease::Cancelled
    })
}

/// Cancels a task: a queued one never runs; a running one is stopped by its worker at the
/// next heartbeat.
pub async fn cancel(db: &impl ConnectionTrait, task: TaskId) -> Result<bool, DbErr> {
    let deleted = tasks::Entity::delete_by_id(task).exec(db).await?;
    Ok(deleted.rows_affected == 1)
}

/// Marks dead the tasks of `kinds` whose workers were lost on every attempt (the lease ran out with no
/// attempt left), and returns them so their handlers can record it.
pub async fn bury_lost(
    db: &impl ConnectionTrait,
    kinds: &[&str],
) -> Result<Vec<tasks::Model>, DbErr> {
    let at = now();
    let lost = || {
        Condition::all()
            .add(tasks::Column::Kind.is_in(kinds.iter().copied()))
            .add(tasks::Column::Status.eq(Status::Running))
            .add(tasks::Column::LockedUntil.lt(at))
            .add(Expr::col(tasks::Column::Attempts).gte(Expr::col(tasks::Column::MaxAttempts)))
    };
    let candidates = tasks::Entity::find().filter(lost()).all(db).await?;
    let mut buried = Vec::with_capacity(candidates.len());
    for task in candidates {
        // Conditional, so of several runners looking at once only one reports it.
        let marked = tasks::Entity::update_many()
            .col_expr(tasks::Column::Status, Expr::value(Status::Dead))
            .col_expr(
                tasks::Column::LockedUntil,
                Expr::value(Option::<Timestamp>::None),
            )
            .col_expr(tasks::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(
                tasks::Column::LastError,
                Expr::value("the worker running it was lost on every attempt"),
            )
            .col_expr(tasks::Column::UpdatedAt, Expr::value(at))
            .filter(lost())
            .filter(tasks::Column::Id.eq(task.id))
            .exec(db)
            .await?;
        if marked.rows_affected == 1 {
            buried.push(task);
        }
    }
    Ok(buried)
}

/// A finished task is deleted: its payload may hold one-time secrets (email links).
pub async fn complete(db: &impl ConnectionTrait, task: TaskId) -> Result<(), DbErr> {
    tasks::Entity::delete_by_id(task).exec(db).await?;
    Ok(())
}

/// Schedules another attempt after an exponential backoff, or marks the task dead once it
/// has used all its attempts.
pub async fn fail(
    db: &impl ConnectionTrait,
    task: &tasks::Model,
    error: &str,
) -> Result<Status, DbErr> {
    let at = now();
    let status = if task.attempts >= task.max_attempts {
        Status::Dead
    } else {
        Status::Queued
    };
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(status))
        .col_expr(
            tasks::Column::RunAt,
            Expr::value(retry_at(at, task.attempts)),
        )
        .col_expr(
            tasks::Column::LockedUntil,
            Expr::value(Option::<Timestamp>::None),
        )
        .col_expr(tasks::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(tasks::Column::LastError, Expr::value(truncate(error, 2000)))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(at))
        .filter(tasks::Column::Id.eq(task.id))
        .exec(db)
        .await?;
    Ok(status)
}

/// Gives a task back untouched (the worker is shutting down): the attempt does not count.
pub async fn release(db: &impl ConnectionTrait, task: TaskId) -> Result<(), DbErr> {
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(Status::Queued))
        .col_expr(
            tasks::Column::Attempts,
            Expr::col(tasks::Column::Attempts).sub(1),
        )
        .col_expr(
            tasks::Column::LockedUntil,
            Expr::value(Option::<Timestamp>::None),
        )
        .col_expr(tasks::Column::LockedBy, Expr::value(Option::<String>::None))
        .filter(tasks::Column::Id.eq(task))
        .exec(db)
        .await?;
    Ok(())
}

/// 2 s, 4 s, 8 s … capped at one hour.
pub fn retry_at(at: Timestamp, attempts: i32) -> Timestamp {
    let exponent = attempts.clamp(1, 12) as u32;
    at + Duration::seconds((1i64 << exponent).min(3600))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let at = now();
        assert_eq!(retry_at(at, 1) - at, Duration::seconds(2));
        assert_eq!(retry_at(at, 3) - at, Duration::seconds(8));
        assert_eq!(retry_at(at, 40) - at, Duration::seconds(3600));
    }
}
