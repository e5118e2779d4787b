//! Reads the events file as the trainer appends to it: complete lines only, from where the
//! last read stopped, never holding more than one over-long line's first bytes.

use serde_json::Value;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Lines longer than this are refused without being kept in memory.
const MAX_LINE_BYTES: usize = 64 * 1024;

pub struct EventTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    /// Inside an over-long line: skip to its end.
    skipping: bool,
}

impl EventTail {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            partial: Vec::new(),
            skipping: false,
        }
    }

    /// The complete lines appended since the last call, as JSON; a line that is not JSON
    /// or too long becomes a string describing it, which the relay refuses with that reason.
    pub async fn read_new(&mut self) -> std::io::Result<Vec<Value>> {
        let mut file = match tokio::fs::File::open(&self.path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        file.seek(std::io::SeekFrom::Start(self.offset)).await?;
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh).await?;
        self.offset += fresh.len() as u64;
        let mut events = Vec::new();
        for byte in fresh {
            if byte == b'\n' {
                if self.skipping {
                    self.skipping = false;
                    events.push(Value::String(format!(
                        "a line longer than {MAX_LINE_BYTES} bytes"
                    )));
                } else {
                    let line = std::mem::take(&mut self.partial);
                    if let Some(event) = parse(&line) {
                        events.push(event);
                    }
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            self.partial.push(byte);
            if self.partial.len() > MAX_LINE_BYTES {
                self.partial = Vec::new();
                self.skipping = true;
            }
        }
        Ok(events)
    }
}

fn parse(line: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(serde_json::from_str(text).unwrap_or_else(|e| Value::String(format!("not JSON ({e})"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn reads_complete_lines_once_and_describes_bad_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.jsonl");
        let mut file = std::fs::File::create(&path).expect("create");
        let mut tail = EventTail::new(path.clone());
        write!(file, "{{\"event\":\"started\",\"seq\":1}}\n{{\"event\":").expect("write");
        let first = tail.read_new().await.expect("read");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0]["seq"], 1);
        writeln!(
            file,
            "\"log\",\"seq\":2}}\nnot json\n\n{}",
            "x".repeat(MAX_LINE_BYTES + 10)
        )
        .expect("write");
        let second = tail.read_new().await.expect("read");
        assert_eq!(second.len(), 3);
        assert_eq!(second[0]["seq"], 2);
        assert!(
            second[1]
                .as_str()
                .is_some_and(|s| s.starts_with("not JSON"))
        );
        assert!(
            second[2]
                .as_str()
                .is_some_and(|s| s.contains("longer than"))
        );
        assert!(tail.read_new().await.expect("read").is_empty());
    }
}
