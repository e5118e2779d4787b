//! The relay: trainer events (file lines read by the worker, or HTTP batches sent with the
//! job's token) checked against the contract, stored once per `(attempt, seq)`, applied to
//! the job and published. A malformed event is refused with a reason and a warning in the
//! job's log; it never fails the job.

use super::{announce_job, summary};
use crate::auth::secrets;
use crate::domain::{Domain, Tx};
use crate::entities::job_logs::{self, LogLevel, LogSource};
use crate::entities::jobs::{self, JobStatus};
use crate::entities::{job_events, job_metrics};
use crate::error::{Error, Result};
use crate::events::{Event, job_events_topic, job_logs_topic};
use crate::ids::{JobEventId, JobId, JobLogId, JobMetricId};
use crate::time::{Timestamp, now};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, EnumIter, Iterable, QueryFilter, QuerySelect, Set,
};
use serde_json::{Map, Value};
use std::collections::HashSet;

const MAX_EVENT_BYTES: usize = 64 * 1024;
const MAX_METRICS: usize = 200;
const MAX_METRIC_NAME: usize = 100;
const MAX_MESSAGE_CHARS: usize = 16 * 1024;
/// One HTTP request may carry this many events (the SDK sends at most 50 log lines).
pub const MAX_BATCH: usize = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub stored: usize,
    pub duplicates: usize,
    /// One reason per refused event.
    pub rejected: Vec<String>,
}

/// The events of the trainer contract. `docs/trainer-contract.md` lists the same ones for
/// trainer authors; its test (`contract_doc`) compares the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter)]
pub enum EventKind {
    Started,
    Progress,
    Log,
    Checkpoint,
    Completed,
    Failed,
    InferenceCompleted,
    ExportCompleted,
}

impl EventKind {
    /// The name a trainer gives the event, and the stored event's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Progress => "progress",
            Self::Log => "log",
            Self::Checkpoint => "checkpoint",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::InferenceCompleted => "inference_completed",
            Self::ExportCompleted => "export_completed",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::iter().find(|kind| kind.name() == name)
    }
}

/// An event that passed the contract's checks.
struct Checked {
    kind: EventKind,
    trainer_seq: i64,
    ts: Timestamp,
    body: Map<String, Value>,
}

/// Checks one event against the contract: its name, `seq`, `ts`, and the fields its kind
/// needs, with their types.
fn check(raw: &Value) -> std::result::Result<Checked, String> {
    let size = raw.to_string().len();
    if size > MAX_EVENT_BYTES {
        return Err(format!("event of {size} bytes; at most {MAX_EVENT_BYTES}"));
    }
    let body = match raw {
        Value::Object(body) => body,
        // The worker's file reader describes lines it could not parse this way.
        Value::String(unreadable) => return Err(format!("unreadable line: {unreadable}")),
        _ => return Err("an event must be a JSON object".into()),
    };
    let name = body
        .get("event")
        .or_else(|| body.get("type"))
        .and_then(Value::as_str)
        .ok_or("missing \"event\" (the event's name)")?;
    let kind = EventKind::named(name).ok_or_else(|| format!("unknown event {name:?}"))?;
    let trainer_seq = body
        .get("seq")
        .and_then(Value::as_i64)
        .filter(|seq| *seq >= 1)
        .ok_or("missing or bad \"seq\" (1, 2, 3 …)")?;
    let ts = body
        .get("ts")
        .and_then(Value::as_str)
        .and_then(|ts| chrono::DateTime::parse_from_rfc3339(ts).ok())
        .ok_or("missing or bad \"ts\" (RFC 3339)")?
        .with_timezone(&chrono::Utc);
    let int = |name: &str| {
        body.get(name)
            .and_then(Value::as_i64)
            .filter(|n| (0..=i32::MAX as i64).contains(n))
    };
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let need = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{name}: {what}"))
        }
    };
    match kind {
        EventKind::Started => need(
            body.get("total_epochs")
                .is_none_or(|v| v.is_null() || int("total_epochs").is_some()),
            "total_epochs must be a whole number",
        )?,
        EventKind::Progress => {
            need(int("epoch").is_some(), "epoch must be a whole number")?;
            need(
                body.get("total_epochs")
                    .is_none_or(|_| int("total_epochs").is_some()),
                "total_epochs must be a whole number",
            )?;
            check_metrics(body.get("metrics")).map_err(|e| format!("progress: {e}"))?;
        }
        EventKind::Log => {
            need(
                text("level").and_then(level_of).is_some(),
                "level must be DEBUG, INFO, WARNING or ERROR",
            )?;
            need(text("message").is_some(), "message must be a string")?;
        }
        EventKind::Checkpoint => {
            need(
                text("path").is_some_and(is_relative_path),
                "path must be a relative path under the output folder",
            )?;
            need(
                matches!(text("type"), Some("best" | "last")),
                "type must be best or last",
            )?;
            need(int("epoch").is_some(), "epoch must be a whole number")?;
            if let Some(metrics) = body.get("metrics").filter(|m| !m.is_null()) {
                check_metrics(Some(metrics)).map_err(|e| format!("checkpoint: {e}"))?;
            }
        }
        EventKind::Completed => {
            if let Some(metrics) = body.get("final_metrics").filter(|m| !m.is_null()) {
                check_metrics(Some(metrics)).map_err(|e| format!("completed: {e}"))?;
            }
        }
        EventKind::Failed => {
            need(text("error_type").is_some(), "error_type must be a string")?;
            need(text("message").is_some(), "message must be a string")?;
        }
        EventKind::InferenceCompleted => need(
            text("results_path").is_some_and(is_relative_path),
            "results_path must be a relative path under the output folder",
        )?,
        EventKind::ExportCompleted => {
            need(text("format").is_some(), "format must be a string")?;
            need(
                text("path").is_some_and(is_relative_path),
                "path must be a relative path under the output folder",
            )?;
        }
    }
    let mut body = body.clone();
    if let Some(Value::String(message)) = body.get_mut("message")
        && message.chars().count() > MAX_MESSAGE_CHARS
    {
        *message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + " …[truncated]";
    }
    Ok(Checked {
        kind,
        trainer_seq,
        ts,
        body,
    })
}

fn check_metrics(metrics: Option<&Value>) -> std::result::Result<(), String> {
    let Some(Value::Object(metrics)) = metrics else {
        return Err("metrics must be an object of name → number".into());
    };
    if metrics.len() > MAX_METRICS {
        return Err(format!("at most {MAX_METRICS} metrics"));
    }
    for (name, value) in metrics {
        if name.is_empty() || name.chars().count() > MAX_METRIC_NAME {
            return Err(format!(
                "metric names have 1 to {MAX_METRIC_NAME} characters"
            ));
        }
        if !value.as_f64().is_some_and(f64::is_finite) {
            return Err(format!("metric {name} is not a finite number"));
        }
    }
    Ok(())
}

pub(crate) fn is_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != ".." && part != ".")
}

pub(crate) fn level_of(level: &str) -> Option<LogLevel> {
    match level.to_ascii_uppercase().as_str() {
        "DEBUG" => Some(LogLevel::Debug),
        "INFO" => Some(LogLevel::Info),
        "WARNING" | "WARN" => Some(LogLevel::Warning),
        "ERROR" | "CRITICAL" => Some(LogLevel::Error),
        _ => None,
    }
}

impl Domain {
    /// Events of the job's current attempt `attempt`, as the worker read them.
    pub async fn ingest_events(
        &self,
        job: JobId,
        attempt: i32,
        events: Vec<Value>,
    ) -> Result<IngestReport> {
        let mut tx = self.begin().await?;
        let locked = jobs::Entity::update_many()
            .col_expr(jobs::Column::UpdatedAt, Expr::value(now()))
            .filter(jobs::Column::Id.eq(job))
            .filter(jobs::Column::Attempt.eq(attempt))
            .filter(jobs::Column::Status.eq(JobStatus::Running))
            .exec(&*tx)
            .await?;
        if locked.rows_affected == 0 {
            return Err(Error::conflict("the job is not running this attempt"));
        }
        let current = Self::job_in_tx(&tx, job).await?;
        let report = self.apply_events(&mut tx, current, events).await?;
        self.commit(tx).await?;
        Ok(report)
    }

    /// Events sent over HTTP; the job's own token is the credential and names the attempt.
    pub async fn ingest_events_with_token(
        &self,
        job: JobId,
        token: &str,
        events: Value,
    ) -> Result<IngestReport> {
        let Value::Array(events) = events else {
            return Err(Error::invalid("body", "send a JSON array of events"));
        };
        if events.len() > MAX_BATCH {
            return Err(Error::invalid(
                "body",
                format!("at most {MAX_BATCH} events per request"),
            ));
        }
        let current = jobs::Entity::find_by_id(job).one(&self.db).await?;
        let attempt = match current {
            Some(j)
                if !j.token_hash.is_empty()
                    && secrets::hashes_match(&j.token_hash, &secrets::hash(token)) =>
            {
                j.attempt
            }
            _ => return Err(Error::CredentialRejected),
        };
        self.ingest_events(job, attempt, events).await
    }

    async fn apply_events(
        &self,
        tx: &mut Tx,
        mut job: jobs::Model,
        events: Vec<Value>,
    ) -> Result<IngestReport> {
        let mut report = IngestReport::default();
        let mut fresh = Vec::new();
        for raw in &events {
            match check(raw) {
                Ok(event) => fresh.push(event),
                Err(reason) => report.rejected.push(reason),
            }
        }
        let seqs: Vec<i64> = fresh.iter().map(|e| e.trainer_seq).collect();
        let mut seen: HashSet<i64> = job_events::Entity::find()
            .select_only()
            .column(job_events::Column::TrainerSeq)
            .filter(job_events::Column::JobId.eq(job.id))
            .filter(job_events::Column::Attempt.eq(job.attempt))
            .filter(job_events::Column::TrainerSeq.is_in(seqs))
            .into_tuple::<i64>()
            .all(&**tx)
            .await?
            .into_iter()
            .collect();
        let before = summary(&job);
        for event in fresh {
            if !seen.insert(event.trainer_seq) {
                report.duplicates += 1;
                continue;
            }
            job.last_seq += 1;
            self.store_event(tx, &mut job, event).await?;
            report.stored += 1;
        }
        for reason in &report.rejected {
            tracing::warn!(job = %job.id, reason, "refused a malformed trainer event");
            self.platform_log(
                tx,
                &job,
                LogLevel::Warning,
                format!("refused a malformed event: {reason}"),
            )
            .await?;
        }
        // Every field the events changed is written back (`reset_all` marks them all set).
        let mut update = jobs::ActiveModel::from(job.clone()).reset_all();
        update.updated_at = Set(now());
        let job = update.update(&**tx).await?;
        let after = summary(&job);
        if (
            after.current_epoch,
            after.total_epochs,
            &after.latest_metrics,
            &after.error_message,
        ) != (
            before.current_epoch,
            before.total_epochs,
            &before.latest_metrics,
            &before.error_message,
        ) {
            announce_job(tx, &job);
        }
        Ok(report)
    }

    async fn store_event(&self, tx: &mut Tx, job: &mut jobs::Model, event: Checked) -> Result<()> {
        let body = &event.body;
        let int = |name: &str| body.get(name).and_then(Value::as_i64).map(|n| n as i32);
        match event.kind {
            EventKind::Started => job.total_epochs = int("total_epochs").or(job.total_epochs),
            EventKind::Progress => {
                let epoch = int("epoch").unwrap_or_default();
                job.current_epoch = Some(epoch);
                job.total_epochs = int("total_epochs").or(job.total_epochs);
                let metrics = body.get("metrics").cloned().unwrap_or_default();
                if let Value::Object(points) = &metrics {
                    let step = body.get("step").and_then(Value::as_i64);
                    let rows = points.iter().map(|(name, value)| job_metrics::ActiveModel {
                        id: Set(JobMetricId::new()),
                        org_id: Set(job.org_id),
                        job_id: Set(job.id),
                        attempt: Set(job.attempt),
                        epoch: Set(epoch),
                        step: Set(step),
                        name: Set(name.clone()),
                        value: Set(value.as_f64().unwrap_or_default()),
                        ts: Set(event.ts),
                    });
                    if !points.is_empty() {
                        job_metrics::Entity::insert_many(rows).exec(&**tx).await?;
                    }
                }
                job.latest_metrics = Some(metrics);
            }
            EventKind::Log => {
                let level = body
                    .get("level")
                    .and_then(Value::as_str)
                    .and_then(level_of)
                    .unwrap_or(LogLevel::Info);
                let message = body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let line = job_logs::ActiveModel {
                    id: Set(JobLogId::new()),
                    org_id: Set(job.org_id),
                    job_id: Set(job.id),
                    attempt: Set(job.attempt),
                    source: Set(LogSource::Trainer),
                    level: Set(level),
                    message: Set(message),
                    metadata: Set(body.get("metadata").filter(|m| !m.is_null()).cloned()),
                    ts: Set(event.ts),
                }
                .insert(&**tx)
                .await?;
                tx.announce(job_logs_topic(job.id), Event::JobLog(line));
            }
            EventKind::Completed => {
                job.best_epoch = int("best_epoch").or(job.best_epoch);
                job.best_metric = body
                    .get("best_metric")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                job.best_metric_value = body.get("best_metric_value").and_then(Value::as_f64);
                job.final_metrics = body.get("final_metrics").filter(|m| !m.is_null()).cloned();
            }
            EventKind::Failed => {
                job.error_type = body
                    .get("error_type")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                job.error_message = body
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            // The worker acts on these (it stores the files they name) once they are stored.
            EventKind::Checkpoint | EventKind::InferenceCompleted | EventKind::ExportCompleted => {}
        }
        let body = Value::Object(event.body);
        let stored = job_events::ActiveModel {
            id: Set(JobEventId::new()),
            org_id: Set(job.org_id),
            job_id: Set(job.id),
            seq: Set(job.last_seq),
            attempt: Set(job.attempt),
            trainer_seq: Set(event.trainer_seq),
            kind: Set(event.kind.name().to_owned()),
            body: Set(body),
            ts: Set(event.ts),
        }
        .insert(&**tx)
        .await?;
        tx.announce(job_events_topic(job.id), Event::JobEvent(stored));
        Ok(())
    }

    /// A line in the job's log written by the platform itself (refused events, limits hit,
    /// the reason a job failed).
    pub(crate) async fn platform_log(
        &self,
        tx: &mut Tx,
        job: &jobs::Model,
        level: LogLevel,
        message: String,
    ) -> Result<()> {
        let line = job_logs::ActiveModel {
            id: Set(JobLogId::new()),
            org_id: Set(job.org_id),
            job_id: Set(job.id),
            attempt: Set(job.attempt),
            source: Set(LogSource::Platform),
            level: Set(level),
            message: Set(message),
            metadata: Set(None),
            ts: Set(now()),
        }
        .insert(&**tx)
        .await?;
        tx.announce(job_logs_topic(job.id), Event::JobLog(line));
        Ok(())
    }
}

#[cfg(test)]
mod contract_doc;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(body: Value) -> std::result::Result<Checked, String> {
        check(&body)
    }

    #[test]
    fn contract_events_pass() {
        let ts = "2026-11-22T10:00:00Z";
        for body in [
            json!({"event": "started", "seq": 1, "ts": ts, "total_epochs": 3}),
            json!({"event": "progress", "seq": 2, "ts": ts, "epoch": 1, "total_epochs": 3, "metrics": {"loss": 0.5}}),
            json!({"event": "log", "seq": 3, "ts": ts, "level": "INFO", "message": "hi"}),
            json!({"event": "checkpoint", "seq": 4, "ts": ts, "path": "best.json", "type": "best", "epoch": 1}),
            json!({"type": "completed", "seq": 5, "ts": ts, "best_epoch": 1, "best_metric": "accuracy", "best_metric_value": 0.9, "final_metrics": {"accuracy": 0.9}}),
            json!({"event": "failed", "seq": 6, "ts": ts, "error_type": "OOM", "message": "out of memory"}),
            json!({"event": "inference_completed", "seq": 7, "ts": ts, "results_path": "predictions.json"}),
            json!({"event": "export_completed", "seq": 8, "ts": ts, "format": "onnx", "path": "model.onnx", "metadata": {}}),
        ] {
            assert!(event(body.clone()).is_ok(), "{body}");
        }
    }

    #[test]
    fn malformed_events_are_refused_with_a_reason() {
        let ts = "2026-11-22T10:00:00Z";
        for (body, reason) in [
            (json!([1]), "JSON object"),
            (
                json!("not JSON (expected value)"),
                "unreadable line: not JSON",
            ),
            (json!({"seq": 1, "ts": ts}), "\"event\""),
            (json!({"event": "started", "ts": ts}), "seq"),
            (json!({"event": "started", "seq": 0, "ts": ts}), "seq"),
            (
                json!({"event": "started", "seq": 1, "ts": "yesterday"}),
                "ts",
            ),
            (
                json!({"event": "progress", "seq": 1, "ts": ts, "metrics": {}}),
                "epoch",
            ),
            (
                json!({"event": "progress", "seq": 1, "ts": ts, "epoch": 1, "metrics": {"loss": "low"}}),
                "finite",
            ),
            (
                json!({"event": "log", "seq": 1, "ts": ts, "level": "LOUD", "message": "x"}),
                "level",
            ),
            (
                json!({"event": "checkpoint", "seq": 1, "ts": ts, "path": "../etc/passwd", "type": "best", "epoch": 1}),
                "relative",
            ),
            (
                json!({"event": "checkpoint", "seq": 1, "ts": ts, "path": "/abs", "type": "best", "epoch": 1}),
                "relative",
            ),
            (json!({"event": "teleport", "seq": 1, "ts": ts}), "unknown"),
        ] {
            let refused = event(body.clone())
                .err()
                .unwrap_or_else(|| panic!("accepted {body}"));
            assert!(
                refused.contains(reason),
                "{refused} should mention {reason}"
            );
        }
    }

    #[test]
    fn long_messages_are_truncated_not_refused() {
        let long = "x".repeat(MAX_MESSAGE_CHARS + 10);
        let checked = event(json!({"event": "log", "seq": 1, "ts": "2026-11-22T10:00:00Z", "level": "INFO", "message": long}))
            .expect("accepted");
        let kept = checked.body["message"].as_str().expect("text");
        assert!(kept.ends_with("[truncated]"));
    }
}
