//! The log pump shared by the executors: splits the workload's output into lines per
//! stream and forwards them until the byte cap is reached, then discards the rest.

use tokio::sync::mpsc;

use super::{LogLine, LogStream};

/// A line longer than this is forwarded in pieces of this size, so one endless line
/// neither grows the buffer without bound nor overshoots the cap by more than this.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;

/// Forwards output line by line until `limit` bytes (line endings included) have been
/// forwarded. The line that crosses the limit is still forwarded whole; everything after
/// it is dropped and `truncated` is set.
pub(crate) struct LogCap {
    sender: mpsc::Sender<LogLine>,
    limit: usize,
    forwarded: usize,
    truncated: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LogCap {
    pub(crate) fn new(sender: mpsc::Sender<LogLine>, limit: usize) -> Self {
        Self {
            sender,
            limit,
            forwarded: 0,
            truncated: false,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the cap is reached: anything more will be discarded.
    pub(crate) fn is_full(&self) -> bool {
        self.forwarded >= self.limit
    }

    /// Output came after the cap was reached.
    pub(crate) fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    /// Takes a chunk of output of one stream.
    pub(crate) async fn push(&mut self, stream: LogStream, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            if self.forwarded >= self.limit {
                // Over the cap: drain and discard.
                self.truncated = true;
                self.stdout.clear();
                self.stderr.clear();
                return;
            }
            let buffer = self.buffer(stream);
            let room = MAX_LINE_BYTES - buffer.len();
            let take = chunk.len().min(room);
            let (head, rest) = chunk.split_at(take);
            match head.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    buffer.extend_from_slice(&head[..newline]);
                    chunk = &chunk[newline + 1..];
                    self.emit(stream, 1).await;
                }
                None => {
                    buffer.extend_from_slice(head);
                    chunk = rest;
                    if buffer.len() >= MAX_LINE_BYTES {
                        self.emit(stream, 0).await;
                    }
                }
            }
        }
    }

    /// Forwards what is left of unterminated lines, at the end of the output.
    pub(crate) async fn finish(&mut self) {
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            if !self.buffer(stream).is_empty() {
                if self.forwarded >= self.limit {
                    self.truncated = true;
                    self.buffer(stream).clear();
                } else {
                    self.emit(stream, 0).await;
                }
            }
        }
    }

    fn buffer(&mut self, stream: LogStream) -> &mut Vec<u8> {
        match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        }
    }

    /// Sends the buffered line of `stream`; `ending` is the size of its line ending.
    async fn emit(&mut self, stream: LogStream, ending: usize) {
        let buffer = self.buffer(stream);
        let bytes = std::mem::take(buffer);
        self.forwarded += bytes.len() + ending;
        let mut line = bytes.as_slice();
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        let text = String::from_utf8_lossy(line).into_owned();
        // A receiver that went away does not stop the run: the output is drained anyway.
        let _ = self.sender.send(LogLine { stream, text }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(limit: usize, chunks: &[(LogStream, &[u8])]) -> (Vec<LogLine>, bool) {
        let (sender, mut receiver) = mpsc::channel(1024);
        let mut cap = LogCap::new(sender, limit);
        for (stream, chunk) in chunks {
            cap.push(*stream, chunk).await;
        }
        cap.finish().await;
        let truncated = cap.truncated();
        drop(cap);
        let mut lines = Vec::new();
        while let Some(line) = receiver.recv().await {
            lines.push(line);
        }
        (lines, truncated)
    }

    fn out(text: &str) -> LogLine {
        LogLine {
            stream: LogStream::Stdout,
            text: text.to_owned(),
        }
    }

    #[tokio::test]
    async fn lines_are_joined_across_chunks_and_split_on_newlines() {
        let (lines, truncated) = collect(
            1000,
            &[
                (LogStream::Stdout, b"hel"),
                (LogStream::Stderr, b"warn\n"),
                (LogStream::Stdout, b"lo\r\nworld\nlast"),
            ],
        )
        .await;
        assert!(!truncated);
        assert_eq!(
            lines,
            vec![
                LogLine {
                    stream: LogStream::Stderr,
                    text: "warn".to_owned()
                },
                out("hello"),
                out("world"),
                out("last"),
            ]
        );
    }

    #[tokio::test]
    async fn output_past_the_limit_is_dropped_and_reported() {
        let (lines, truncated) =
            collect(10, &[(LogStream::Stdout, b"12345\n12345\n12345\nrest")]).await;
        assert!(truncated);
        assert_eq!(lines, vec![out("12345"), out("12345")]);
    }

    #[tokio::test]
    async fn an_endless_line_is_forwarded_in_pieces() {
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 5];
        let (lines, truncated) = collect(usize::MAX, &[(LogStream::Stdout, &long)]).await;
        assert!(!truncated);
        let sizes: Vec<usize> = lines.iter().map(|line| line.text.len()).collect();
        assert_eq!(sizes, vec![MAX_LINE_BYTES, MAX_LINE_BYTES, 5]);
    }
}
