//! Test support for the tests that run the built `keynet` binary as a child process: start it
//! the way an operator does (flags, `KEYNET_*` variables, a working folder), collect what it
//! prints for failure messages, wait for it to listen and be healthy, and stop it (SIGTERM)
//! or kill it (SIGKILL).

#![allow(dead_code, reason = "each test binary uses a different part of it")]

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

pub const KEYNET: &str = env!("CARGO_BIN_EXE_keynet");
/// How long a process may take to say where it listens, or to answer `/healthz`.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to end after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(20);
const LISTENING: &str = "Keynet is listening on ";

/// `keynet` with the given arguments, in `cwd` (so no stray `./keynet.toml` is read) and
/// without any `KEYNET_*` variable of the environment running the tests.
pub fn command(args: &[&str], cwd: &Path) -> Command {
    let mut command = Command::new(KEYNET);
    command.args(args).current_dir(cwd).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("KEYNET_") {
            command.env_remove(key);
        }
    }
    command
}

/// A running `keynet` process. Dropping it kills the process, so a failed assertion leaves
/// no process behind.
pub struct Keynet {
    name: &'static str,
    child: Child,
    /// Everything the process printed so far (stdout and stderr), for failure messages.
    output: Arc<Mutex<String>>,
    /// The URL of the `Keynet is listening on …` line, once printed.
    listening: Option<oneshot::Receiver<String>>,
}

impl Keynet {
    /// `keynet <args>` in `cwd` with only the `KEYNET_*` variables given here.
    pub fn start(name: &'static str, args: &[&str], env: &[(&str, String)], cwd: &Path) -> Self {
        let mut command = command(args, cwd);
        command
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the keynet binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (listening, url) = oneshot::channel();
        tokio::spawn(collect(
            child.stdout.take().expect("stdout is piped"),
            output.clone(),
            Some(listening),
        ));
        tokio::spawn(collect(
            child.stderr.take().expect("stderr is piped"),
            output.clone(),
            None,
        ));
        Self {
            name,
            child,
            output,
            listening: Some(url),
        }
    }

    /// Waits for the `Keynet is listening on …` line and returns its URL.
    pub async fn wait_listening(&mut self) -> String {
        let url = self
            .listening
            .take()
            .expect("wait_listening is called once");
        match tokio::time::timeout(START_TIMEOUT, url).await {
            Ok(Ok(url)) => url,
            Ok(Err(_)) => panic!(
                "{} stopped before saying where it listens\n{}",
                self.name,
                self.output()
            ),
            Err(_) => panic!(
                "{} did not say where it listens within {START_TIMEOUT:?}\n{}",
                self.name,
                self.output()
            ),
        }
    }

    /// Waits until `GET {url}/healthz` answers 200.
    pub async fn wait_healthy(&mut self, url: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let status = client
                .get(format!("{url}/healthz"))
                .send()
                .await
                .map(|r| r.status().as_u16());
            if matches!(status, Ok(200)) {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("{} exited with {exit}\n{}", self.name, self.output());
            }
            assert!(
                Instant::now() < deadline,
                "GET /healthz never answered 200 (last: {status:?})\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the process printed so far, under its name.
    pub fn output(&self) -> String {
        printed(self.name, &self.output)
    }

    /// Sends SIGTERM and waits, up to `within`, for the process to end.
    pub async fn terminate(mut self, within: Duration) -> ExitStatus {
        let pid = self
            .child
            .id()
            .expect("keynet is still running")
            .to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("`kill` runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("waiting for keynet works"),
            Err(_) => panic!(
                "{} did not stop within {within:?} of SIGTERM\n{}",
                self.name,
                self.output()
            ),
        }
    }

    /// SIGTERM, and a graceful, successful stop within `within`.
    pub async fn stop_gracefully(self, within: Duration) {
        let name = self.name;
        let output = self.output.clone();
        let started = Instant::now();
        let status = self.terminate(within).await;
        assert!(
            status.success(),
            "{name} exited with {status} after SIGTERM (after {:?})\n{}",
            started.elapsed(),
            printed(name, &output)
        );
    }

    /// SIGKILL: the process gets no chance to clean anything up.
    pub async fn kill_hard(mut self) -> ExitStatus {
        self.child.start_kill().expect("SIGKILL is sent");
        tokio::time::timeout(KILL_TIMEOUT, self.child.wait())
            .await
            .expect("a killed process ends at once")
            .expect("waiting for keynet works")
    }
}

fn printed(name: &str, output: &Mutex<String>) -> String {
    format!(
        "--- output of {name} ---\n{}",
        output.lock().unwrap_or_else(|e| e.into_inner())
    )
}

/// Reads lines into `output`; hands the URL of the `Keynet is listening on …` line to
/// `listening`. Keeps reading so a chatty log never fills the pipe and blocks the process.
async fn collect(
    stream: impl AsyncRead + Unpin,
    output: Arc<Mutex<String>>,
    mut listening: Option<oneshot::Sender<String>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = line.strip_prefix(LISTENING)
            && let Some(listening) = listening.take()
        {
            let _ = listening.send(url.trim().to_string());
        }
        let mut output = output.lock().unwrap_or_else(|e| e.into_inner());
        output.push_str(&line);
        output.push('\n');
    }
}
