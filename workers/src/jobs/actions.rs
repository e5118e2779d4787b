//! What the worker does for the events that name files: store a checkpoint, the
//! predictions of an inference, an export. Files must be regular files inside the output
//! folder; a trainer cannot make the worker read anything else (no `..`, no symlinks out).

use super::tail::EventTail;
use keynet_domain::Domain;
use keynet_domain::entities::job_artifacts::ArtifactKind;
use keynet_domain::entities::job_events;
use keynet_domain::entities::job_logs::{LogLevel, LogSource};
use keynet_domain::jobs::lifecycle::{ArtifactDetails, Attempt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub struct RelayState {
    tail: EventTail,
    /// Events up to this `seq` have been acted on.
    handled_seq: i64,
    /// Read from the file but not stored yet (the database was unavailable).
    unsent: Vec<Value>,
}

impl RelayState {
    pub fn new(tail: EventTail) -> Self {
        Self {
            tail,
            handled_seq: 0,
            unsent: Vec::new(),
        }
    }

    /// Relays what the file holds now, then acts on new events from either transport.
    /// Problems are the trainer's to see in its log, and never stop the job.
    pub async fn step(&mut self, domain: &Domain, attempt: &Attempt, output_dir: &Path) {
        let job = &attempt.job;
        match self.tail.read_new().await {
            Ok(events) => self.unsent.extend(events),
            Err(e) => tracing::warn!(error = %e, "could not read the events file"),
        }
        if !self.unsent.is_empty() {
            match domain
                .ingest_events(job.id, job.attempt, self.unsent.clone())
                .await
            {
                Ok(_) => self.unsent.clear(),
                // The attempt is over (cancelled, taken over): nobody wants its events.
                Err(keynet_domain::Error::Conflict(_)) => self.unsent.clear(),
                // Kept and sent again at the next step; the relay ignores what it has.
                Err(e) => tracing::warn!(error = %e, "could not relay trainer events; will retry"),
            }
        }
        let pending = match domain
            .actionable_events(job.id, job.attempt, self.handled_seq)
            .await
        {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "could not load trainer events");
                return;
            }
        };
        for event in pending {
            self.handled_seq = event.seq;
            if let Err(problem) = act(domain, attempt, output_dir, &event).await {
                let note = format!("{} event {}: {problem}", event.kind, event.seq);
                tracing::warn!(problem = %note, "a trainer event could not be acted on");
                if let Err(e) = domain
                    .append_output(job, vec![(LogSource::Platform, LogLevel::Warning, note)])
                    .await
                {
                    tracing::warn!(error = %e, "could not store a note in the job's log");
                }
            }
        }
    }
}

async fn act(
    domain: &Domain,
    attempt: &Attempt,
    output_dir: &Path,
    event: &job_events::Model,
) -> Result<(), String> {
    let job = &attempt.job;
    let body = &event.body;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match event.kind.as_str() {
        "checkpoint" => {
            let file = inside(output_dir, &text("path")).await?;
            let kind = if text("type") == "best" {
                ArtifactKind::BestCheckpoint
            } else {
                ArtifactKind::LastCheckpoint
            };
            let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let details = ArtifactDetails {
                format: None,
                epoch: body.get("epoch").and_then(Value::as_i64).map(|e| e as i32),
                metrics: body.get("metrics").filter(|m| !m.is_null()).cloned(),
                metadata: Some(json!({"file_name": file_name})),
            };
            domain
                .store_artifact(job, kind, &file, details)
                .await
                .map_err(|e| e.to_string())?;
        }
        "inference_completed" => {
            let file = inside(output_dir, &text("results_path")).await?;
            domain
                .store_predictions(job, &file)
                .await
                .map_err(|e| e.to_string())?;
        }
        "export_completed" => {
            let file = inside(output_dir, &text("path")).await?;
            let format = text("format").to_ascii_lowercase();
            if job
                .export_format
                .as_deref()
                .is_some_and(|asked| asked != format)
            {
                return Err(format!(
                    "the job asked for {}, the trainer exported {format}",
                    job.export_format.as_deref().unwrap_or_default()
                ));
            }
            let details = ArtifactDetails {
                format: Some(format),
                epoch: None,
                metrics: None,
                metadata: body.get("metadata").filter(|m| !m.is_null()).cloned(),
            };
            domain
                .store_artifact(job, ArtifactKind::Export, &file, details)
                .await
                .map_err(|e| e.to_string())?;
        }
        _ => {}
    }
    Ok(())
}

/// The regular file `relative` names under `root`, refusing anything that resolves outside.
async fn inside(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let root = tokio::fs::canonicalize(root)
        .await
        .map_err(|e| format!("output folder: {e}"))?;
    let path = tokio::fs::canonicalize(root.join(relative))
        .await
        .map_err(|e| format!("{relative}: {e}"))?;
    if !path.starts_with(&root) {
        return Err(format!("{relative} is outside the output folder"));
    }
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|e| format!("{relative}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("{relative} is not a regular file"));
    }
    Ok(path)
}
