//! The process executor: runs a local program as a child process.
//!
//! It is meant for trainer development and single-tenant installations without a Docker
//! engine. What it enforces:
//! - only programs whose canonical path (symlinks resolved) lies under one of the folders
//!   the operator allowed, and that are executable files: an organization can run only what
//!   an operator placed there;
//! - a cleared environment: the launch's variables, `PATH=/usr/bin:/bin`, `HOME` and `TMPDIR`
//!   set to a fresh work folder (also the working directory, removed afterwards), and the
//!   contract's `KEYNET_INPUT_DIR`, `KEYNET_OUTPUT_DIR` and `KEYNET_EVENTS` as absolute host
//!   paths;
//! - the wall-clock limit and cancellation: the program runs in its own process group and
//!   the whole group gets SIGKILL (children included); the group is also killed when the
//!   program exits by itself (no orphan outlives its job) and when the run's future is
//!   dropped;
//! - the log cap, as the Docker executor.
//!
//! What it does NOT enforce: memory, CPU and pids limits (setting rlimits or cgroups on the
//! child needs either `unsafe` code in `pre_exec`, forbidden in this workspace, or
//! privileges and a cgroup hierarchy we do not manage), a read-only input folder, a
//! read-only file system elsewhere, or network isolation; a process that leaves its
//! process group (`setsid`) escapes the kill. `check` accepts limits and ignores them, and
//! refuses GPUs, which it cannot grant.
//!
//! Killing the group uses `nix::sys::signal::killpg` (a safe wrapper over `kill(2)`) rather
//! than running `kill -KILL -<pgid>`: no extra process per kill, no dependency on a `kill`
//! binary or its parsing of negative ids, and errors (`ESRCH`: nothing left) come back
//! precisely.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::future::BoxFuture;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt as _;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::logs::LogCap;
use super::{
    Executor, Exit, Launch, LogLine, LogStream, Outcome, Program, Resources, contract_env,
};

/// How long the output may go on after the process group was killed (a process that left
/// the group may still hold the pipes).
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// `ETXTBSY`: the program file is still open for writing somewhere (just placed there).
const TEXT_FILE_BUSY: i32 = 26;

/// Runs `Program::Local` from allowed folders as a child process.
pub struct ProcessExecutor {
    allowed_dirs: Vec<PathBuf>,
}

impl ProcessExecutor {
    /// An executor that runs only programs located (after resolving symlinks) under one of
    /// `allowed_dirs`.
    pub fn new(allowed_dirs: Vec<PathBuf>) -> Self {
        Self { allowed_dirs }
    }

    /// The canonical path of an allowed, executable program, or why it is refused.
    fn resolve(&self, path: &Path) -> Result<PathBuf, String> {
        let canonical = path
            .canonicalize()
            .map_err(|error| format!("the program {} cannot be found: {error}", path.display()))?;
        let allowed = self
            .allowed_dirs
            .iter()
            .filter_map(|dir| dir.canonicalize().ok())
            .any(|dir| canonical != dir && canonical.starts_with(&dir));
        if !allowed {
            return Err(format!(
                "the program {} is not in a folder allowed for local programs",
                canonical.display()
            ));
        }
        let metadata = std::fs::metadata(&canonical).map_err(|error| {
            format!(
                "the program {} cannot be read: {error}",
                canonical.display()
            )
        })?;
        if !metadata.is_file() || metadata.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "the program {} is not an executable file",
                canonical.display()
            ));
        }
        Ok(canonical)
    }

    async fn run_launch(
        &self,
        launch: &Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Outcome> {
        let Program::Local { path } = &launch.program else {
            bail!("the process executor runs only local programs");
        };
        if launch.resources.gpus > 0 {
            bail!("the process executor cannot grant GPUs");
        }
        let program = self.resolve(path).map_err(anyhow::Error::msg)?;
        if cancel.is_cancelled() {
            return Ok(super::cancelled_before_start());
        }
        let work = work_dir(&launch.output_dir)?;
        let input = absolute(&launch.input_dir)?;
        let output = absolute(&launch.output_dir)?;
        let events = absolute(&launch.events_file)?;

        let mut command = Command::new(&program);
        command
            .args(&launch.args)
            .env_clear()
            .envs(contract_env(launch).map(|(name, value)| (name, value)))
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", work.path())
            .env("TMPDIR", work.path())
            .env("KEYNET_INPUT_DIR", input)
            .env("KEYNET_OUTPUT_DIR", output)
            .env("KEYNET_EVENTS", events)
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = spawn(&mut command)
            .await
            .with_context(|| format!("starting {}", program.display()))?;
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .context("the started program has no process id")?;
        // Its own group: the group id is the child's pid.
        let mut group = GroupKiller(Some(Pid::from_raw(pid)));
        let started = Instant::now();
        let mut pump = AbortOnDrop(tokio::spawn(pump_logs(
            child.stdout.take(),
            child.stderr.take(),
            LogCap::new(logs, launch.log_limit_bytes),
        )));

        let exit = tokio::select! {
            status = child.wait() => Exit::Code(exit_code(status.context("waiting for the program")?)),
            () = tokio::time::sleep(launch.max_runtime) => Exit::TimedOut,
            () = cancel.cancelled() => Exit::Cancelled,
        };
        // Kills what is left: the whole workload on timeout or cancellation, the program's
        // orphans when it exited by itself.
        group.kill();
        if exit == Exit::TimedOut || exit == Exit::Cancelled {
            child
                .wait()
                .await
                .context("waiting for the killed program")?;
        }
        let runtime = started.elapsed();

        let logs_truncated = match tokio::time::timeout(LOG_DRAIN_TIMEOUT, &mut pump.0).await {
            Ok(Ok(truncated)) => truncated,
            Ok(Err(join)) => {
                tracing::warn!(pid, "the log pump failed: {join}");
                false
            }
            Err(_) => {
                tracing::warn!(
                    pid,
                    "the output did not end after the process group was killed"
                );
                pump.0.abort();
                false
            }
        };
        drop(work);
        Ok(Outcome {
            exit,
            runtime,
            logs_truncated,
        })
    }
}

impl Executor for ProcessExecutor {
    fn name(&self) -> &'static str {
        "process"
    }

    /// Refuses images, programs outside the allowed folders or not executable, and GPUs.
    /// Memory, CPU and pids limits are accepted but not enforced (see the module docs).
    fn check(&self, program: &Program, resources: &Resources) -> Result<(), String> {
        let Program::Local { path } = program else {
            return Err("the process executor runs only local programs, not images".to_owned());
        };
        if resources.gpus > 0 {
            return Err("the process executor cannot grant GPUs".to_owned());
        }
        self.resolve(path).map(drop)
    }

    fn run<'a>(
        &'a self,
        launch: &'a Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        Box::pin(self.run_launch(launch, logs, cancel))
    }
}

/// Spawns, retrying briefly while the program file is busy (just written by someone).
async fn spawn(command: &mut Command) -> io::Result<Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(error) if error.raw_os_error() == Some(TEXT_FILE_BUSY) && tries < 10 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// A fresh folder beside the output folder (inside it when its parent is not writable).
fn work_dir(output: &Path) -> anyhow::Result<tempfile::TempDir> {
    let output = absolute(output)?;
    let builder = {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".keynet-work-");
        builder
    };
    match output.parent() {
        Some(parent) => builder
            .tempdir_in(parent)
            .or_else(|_| builder.tempdir_in(&output)),
        None => builder.tempdir_in(&output),
    }
    .with_context(|| format!("creating a work folder next to {}", output.display()))
}

/// The exit code, or 128 + the signal for a process killed by a signal (as shells do).
fn exit_code(status: ExitStatus) -> i64 {
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => 128 + i64::from(signal),
        (None, None) => -1,
    }
}

async fn pump_logs(
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    mut cap: LogCap,
) -> bool {
    let (mut stdout_open, mut stderr_open) = (stdout.is_some(), stderr.is_some());
    let (mut stdout, mut stderr) = (stdout, stderr);
    let mut stdout_buffer = vec![0u8; 8192];
    let mut stderr_buffer = vec![0u8; 8192];
    while stdout_open || stderr_open {
        tokio::select! {
            read = read_some(&mut stdout, &mut stdout_buffer), if stdout_open => match read {
                Some(n) => cap.push(LogStream::Stdout, &stdout_buffer[..n]).await,
                None => stdout_open = false,
            },
            read = read_some(&mut stderr, &mut stderr_buffer), if stderr_open => match read {
                Some(n) => cap.push(LogStream::Stderr, &stderr_buffer[..n]).await,
                None => stderr_open = false,
            },
        }
    }
    cap.finish().await;
    cap.truncated()
}

/// Reads a chunk; `None` at the end of the stream or on an error.
async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut Option<R>,
    buffer: &mut [u8],
) -> Option<usize> {
    let reader = reader.as_mut()?;
    match reader.read(buffer).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// Sends SIGKILL to the process group, once: when asked or when dropped (the run's future
/// was dropped).
struct GroupKiller(Option<Pid>);

impl GroupKiller {
    fn kill(&mut self) {
        let Some(group) = self.0.take() else { return };
        match killpg(group, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(error) => tracing::warn!(
                pgid = group.as_raw(),
                "killing the process group failed: {error}"
            ),
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
