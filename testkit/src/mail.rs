//! Reading the emails the platform sends: from the outbox folder (the embedded default) or
//! through a real SMTP server listening on loopback.

use mail_parser::MessageParser;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Email {
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let message = MessageParser::default().parse(raw)?;
        let to = message
            .to()
            .and_then(|to| to.first())
            .and_then(|addr| addr.address())
            .unwrap_or_default()
            .to_string();
        Some(Self {
            to,
            subject: message.subject().unwrap_or_default().to_string(),
            body: message.body_text(0)?.to_string(),
        })
    }

    /// The token of the first link to `path` (e.g. `/verify-email`) in the body.
    pub fn link_token(&self, path: &str) -> String {
        let marker = format!("{path}?token=");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {path} link in {:?}", self.body))
            + marker.len();
        self.body[start..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap()
            .to_string()
    }
}

const WAIT: Duration = Duration::from_secs(15);

fn matching(
    emails: impl IntoIterator<Item = Email>,
    to: &str,
    subject_part: &str,
) -> Option<Email> {
    emails
        .into_iter()
        .filter(|e| e.to == to && e.subject.contains(subject_part))
        .last()
}

/// The emails written to an outbox folder, oldest first.
pub fn outbox(dir: &Path) -> Vec<Email> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|ext| ext == "eml"));
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|raw| Email::parse(&raw))
        .collect()
}

/// Waits for the newest email to `to` whose subject contains `subject_part`.
pub async fn wait_in_outbox(dir: &Path, to: &str, subject_part: &str) -> Email {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(email) = matching(outbox(dir), to, subject_part) {
            return email;
        }
        assert!(
            Instant::now() < deadline,
            "no email to {to} about {subject_part:?} arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the outbox holds at least `count` emails to `to` whose subject contains
/// `subject_part`, and returns them all, oldest first.
pub async fn wait_for_count_in_outbox(
    dir: &Path,
    to: &str,
    subject_part: &str,
    count: usize,
) -> Vec<Email> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found: Vec<Email> = outbox(dir)
            .into_iter()
            .filter(|e| e.to == to && e.subject.contains(subject_part))
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} emails to {to} about {subject_part:?} arrived",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A real SMTP server on loopback that keeps every message it receives.
pub struct SmtpCapture {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Email>>>,
}

#[derive(Clone)]
struct Collector {
    current: Vec<u8>,
    received: Arc<Mutex<Vec<Email>>>,
}

impl Handler for Collector {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.current.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(email) = Email::parse(&self.current) {
            self.received.lock().unwrap().push(email);
        }
        OK
    }
}

impl SmtpCapture {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Collector {
            current: Vec::new(),
            received: received.clone(),
        });
        server
            .with_name("keynet-test-smtp")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("test SMTP server stopped: {e}");
            }
        });
        Self { addr, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub async fn wait_for(&self, to: &str, subject_part: &str) -> Email {
        let deadline = Instant::now() + WAIT;
        loop {
            let received = self.received.lock().unwrap().clone();
            if let Some(email) = matching(received, to, subject_part) {
                return email;
            }
            assert!(
                Instant::now() < deadline,
                "no email to {to} about {subject_part:?} reached the SMTP server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
