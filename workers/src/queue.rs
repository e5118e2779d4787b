//! Claiming, finishing and retrying tasks. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`
//! so many workers never take the same task; SQLite has a single writer, so the same
//! `UPDATE … RETURNING` is already exclusive there. A claim takes several tasks at once
//! (one per idle slot of the runner), and the runner deletes the tasks it finished in the
//! same commit ([`complete_and_claim`]): on a server bound by its log flushes, commits per
//! task are what limits throughput.

use chrono::Duration;
use keynet_domain::entities::tasks::{self, Status};
use keynet_domain::ids::TaskId;
use keynet_domain::time::{Timestamp, now};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    Statement, TransactionTrait, Value,
};

/// Takes up to `limit` of the most urgent due tasks, or else (when none is due) up to
/// `limit` whose workers' leases ran out (unless they used all their attempts: see
/// [`bury_lost`]), in one statement each. The tasks come back most urgent first.
pub async fn claim(
    db: &impl ConnectionTrait,
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<tasks::Model>, DbErr> {
    claim_after(db, &[], kinds, worker, lease, limit).await
}

/// One dispatch round of a runner: deletes the tasks it finished since its last round and
/// claims up to `limit` more (see [`claim`]) in one commit, so the server flushes its log
/// once for all of them. A commit is what a task costs on a server that waits for the disk;
/// the statements around it are cheap, but round trips are not free either on a machine
/// whose CPUs the database shares.
///
/// On PostgreSQL the round is one statement: the deletion is a data-modifying `WITH` of the
/// claiming `UPDATE` (one round trip, no `BEGIN`/`COMMIT`). On SQLite it is a transaction
/// of the two. Either way, if it fails nothing happened: the finished tasks are still
/// `running` under this worker's lease and can be deleted in a later round.
pub async fn complete_and_claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    finished: &[TaskId],
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<tasks::Model>, DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres || finished.is_empty() {
        return claim_after(db, finished, kinds, worker, lease, limit).await;
    }
    let txn = db.begin().await?;
    complete(&txn, finished).await?;
    let claimed = claim(&txn, kinds, worker, lease, limit).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// [`claim`], deleting `finished` in the first statement (PostgreSQL only; elsewhere it
/// must be empty).
async fn claim_after(
    db: &impl ConnectionTrait,
    finished: &[TaskId],
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<tasks::Model>, DbErr> {
    if limit == 0 {
        complete(db, finished).await?;
        return Ok(Vec::new());
    }
    // Two statements, each served by its own partial index (`idx_tasks_due`,
    // `idx_tasks_leased`), so a claim reads a few index entries whatever the backlog; one
    // statement with an `OR` of both cases would sort the whole queue on every claim.
    let mut claimed = claim_where(db, finished, kinds, worker, lease, limit, DUE).await?;
    if claimed.is_empty() {
        claimed = claim_where(db, &[], kinds, worker, lease, limit, LEASE_RAN_OUT).await?;
    }
    // `RETURNING` follows no order; the runner starts them in this one.
    claimed.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)));
    Ok(claimed)
}

/// Queued and due, most urgent first.
const DUE: &str = "status = 'queued' AND run_at <= {now} ORDER BY priority DESC, run_at";
/// Running, but its worker stopped renewing the lease; attempts left.
const LEASE_RAN_OUT: &str = "status = 'running' AND locked_until < {now} \
    AND attempts < max_attempts ORDER BY locked_until";

async fn claim_where(
    db: &impl ConnectionTrait,
    finished: &[TaskId],
    kinds: &[&str],
    worker: &str,
    lease: Duration,
    limit: usize,
    condition: &str,
) -> Result<Vec<tasks::Model>, DbErr> {
    let backend = db.get_database_backend();
    let at = now();
    let kinds_json = serde_json::to_string(kinds).map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut values: Vec<Value> = vec![
        worker.into(),
        (at + lease).into(),
        at.into(),
        kinds_json.into(),
        i64::try_from(limit).unwrap_or(i64::MAX).into(),
    ];
    let sql = match backend {
        // The finished ids go as one array literal, so the statement's text (and its
        // prepared plan) is the same whatever their number, and `= ANY` uses the primary
        // key (an `IN (SELECT … FROM json…)` was planned as a scan of the whole queue).
        // `ARRAY(subquery)` is evaluated once, before the update: an `IN (subquery)` could
        // be planned as a join that scans the locking subquery again.
        DatabaseBackend::Postgres => {
            values.push(uuid_array_literal(finished).into());
            format!(
                "WITH finished AS (DELETE FROM tasks WHERE id = ANY($6::text::uuid[])) \
                 UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = $1, \
                 locked_until = $2, updated_at = $3 \
                 WHERE id = ANY(ARRAY(SELECT id FROM tasks \
                    WHERE kind IN (SELECT jsonb_array_elements_text($4::jsonb)) AND {} \
                    LIMIT $5 FOR UPDATE SKIP LOCKED)) \
                 RETURNING *",
                condition.replace("{now}", "$3")
            )
        }
        // A single writer: the subquery and the update cannot interleave with another claim.
        _ => {
            debug_assert!(finished.is_empty(), "deleted separately on SQLite");
            format!(
                "UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = ?1, \
                 locked_until = ?2, updated_at = ?3 \
                 WHERE id IN (SELECT id FROM tasks \
                    WHERE kind IN (SELECT value FROM json_each(?4)) AND {} \
                    LIMIT ?5) \
                 RETURNING *",
                condition.replace("{now}", "?3")
            )
        }
    };
    let statement = Statement::from_sql_and_values(backend, sql, values);
    tasks::Entity::find().from_raw_sql(statement).all(db).await
}

/// `{id,id,…}`: PostgreSQL's text form of an array.
fn uuid_array_literal(ids: &[TaskId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

pub enum Lease {
    Kept,
    /// The task was cancelled (deleted) while it ran: stop working on it.
    Cancelled,
    /// The lease ran out (this worker stalled) and another worker took the task over: stop
    /// working on it, so a task never runs twice at once.
    Lost,
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
    // Still there but not ours: our lease ran out and it was taken over (or released).
    Ok(if exists {
        Lease::Lost
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

/// Bound on the ids in one statement, well under SQLite's parameter limit.
const MAX_IDS: usize = 500;

/// Finished tasks are deleted: their payloads may hold one-time secrets (email links).
pub async fn complete(db: &impl ConnectionTrait, finished: &[TaskId]) -> Result<(), DbErr> {
    for ids in finished.chunks(MAX_IDS) {
        tasks::Entity::delete_many()
            .filter(tasks::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Replaces a task's payload (e.g. a dead task's, without its secrets).
pub async fn replace_payload(
    db: &impl ConnectionTrait,
    task: TaskId,
    payload: serde_json::Value,
) -> Result<(), DbErr> {
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Payload, Expr::value(payload))
        .filter(tasks::Column::Id.eq(task))
        .exec(db)
        .await?;
    Ok(())
}

/// Schedules another attempt after an exponential backoff, or marks the task dead once it
/// has used all its attempts.
///
/// A task that dies keeps `dead_payload` instead of its payload when one is given, set in the
/// same statement, so it is never dead with what its handler wanted dropped (a link's secret).
pub async fn fail(
    db: &impl ConnectionTrait,
    task: &tasks::Model,
    error: &str,
    dead_payload: Option<serde_json::Value>,
) -> Result<Status, DbErr> {
    let at = now();
    let status = if task.attempts >= task.max_attempts {
        Status::Dead
    } else {
        Status::Queued
    };
    let mut update = tasks::Entity::update_many();
    if let (Status::Dead, Some(payload)) = (status, dead_payload) {
        update = update.col_expr(tasks::Column::Payload, Expr::value(payload));
    }
    update
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

/// Gives tasks back untouched (the worker is shutting down): the attempt does not count.
/// Only those `worker` still holds: a task whose lease ran out may run elsewhere already.
pub async fn release(
    db: &impl ConnectionTrait,
    unfinished: &[TaskId],
    worker: &str,
) -> Result<(), DbErr> {
    for ids in unfinished.chunks(MAX_IDS) {
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
            .filter(tasks::Column::Id.is_in(ids.iter().copied()))
            .filter(tasks::Column::LockedBy.eq(worker))
            .filter(tasks::Column::Status.eq(Status::Running))
            .exec(db)
            .await?;
    }
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
