//! Lifecycle events as JSON lines (trainer contract, "Events"): each event is one object
//! with `event` (its kind), `seq` (1, 2, 3 … per job) and `ts` (RFC 3339), appended to the
//! events file and flushed at once so the platform's relay sees it while the job runs.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// Log levels the contract accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Current time as the contract's `ts`.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub struct EventSink {
    file: File,
    path: PathBuf,
    seq: u64,
}

impl EventSink {
    /// Opens (creating if needed) the events file for appending: the platform may have
    /// created it already, and an earlier line must never be overwritten.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            seq: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `seq` of the last event written (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Writes one event. `fields` must be a JSON object (anything else is wrapped as
    /// `{"value": …}` rather than dropped, so a programming slip still shows in the log).
    pub fn emit(&mut self, event: &str, fields: Value) -> io::Result<()> {
        let mut object = match fields {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                let mut map = Map::new();
                map.insert("value".into(), other);
                map
            }
        };
        self.seq += 1;
        object.insert("event".into(), Value::from(event));
        object.insert("seq".into(), Value::from(self.seq));
        object.insert("ts".into(), Value::from(now_rfc3339()));
        let mut line = serde_json::to_string(&Value::Object(object))?;
        line.push('\n');
        // One write per line: with O_APPEND the line lands whole even if another writer
        // (a wrapper script) appends to the same file.
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }

    pub fn log(&mut self, level: Level, message: &str, metadata: Option<Value>) -> io::Result<()> {
        // Also on stderr, so `docker logs` of a job tells the same story.
        eprintln!("[{}] {message}", level.as_str());
        let mut fields = json!({ "level": level.as_str(), "message": message });
        if let (Some(metadata), Some(object)) = (metadata, fields.as_object_mut()) {
            object.insert("metadata".into(), metadata);
        }
        self.emit("log", fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_numbered_lines_with_timestamps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/events.jsonl");
        let mut sink = EventSink::open(&path).expect("open");
        sink.emit("started", json!({ "total_epochs": 2 }))
            .expect("emit");
        sink.log(Level::Info, "hello", Some(json!({ "k": 1 })))
            .expect("log");
        assert_eq!(sink.last_seq(), 2);
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "started");
        assert_eq!(lines[0]["seq"], 1);
        assert_eq!(lines[0]["total_epochs"], 2);
        assert_eq!(lines[1]["event"], "log");
        assert_eq!(lines[1]["seq"], 2);
        assert_eq!(lines[1]["level"], "INFO");
        assert_eq!(lines[1]["metadata"]["k"], 1);
        let ts = lines[1]["ts"].as_str().expect("ts");
        chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
    }
}
