//! Executors: what runs a trainer for a job.
//!
//! A job runner hands an executor a [`Launch`] (the program, its arguments and contract
//! environment, the host folders for inputs, outputs and the events file, resource limits,
//! a wall-clock limit and a log cap) and gets back an [`Outcome`]: how the workload ended,
//! how long it ran and whether its output was truncated. Its stdout and stderr arrive
//! line by line on a channel while it runs.
//!
//! Two executors exist:
//! - [`DockerExecutor`] runs a trainer image on a Docker engine as an untrusted workload:
//!   no network, all capabilities dropped, `no-new-privileges`, read-only root filesystem
//!   with a size-limited tmpfs `/tmp`, pids/memory/CPU limits, the dataset mounted
//!   read-only. This is the multi-tenant executor.
//! - [`ProcessExecutor`] runs a local program (a script an operator placed in an allowed
//!   folder) as a plain child process in its own process group. It enforces the wall-clock
//!   limit, the log cap and a cleared environment, but no memory/CPU/pids limits, no
//!   read-only input and no network isolation: it is for trainer development and
//!   single-tenant installations without Docker.
//!
//! [`choose`] picks the first executor that can run a program with the requested
//! resources, or explains why none can.
//!
//! Errors: `run` returns `Err` only when the platform failed (engine unreachable, image
//! missing, program could not be started). A trainer that fails exits with a non-zero
//! [`Exit::Code`].
//!
//! Logs: the caller must keep receiving from the log channel while `run` is in progress
//! (typically in another task); a full channel slows the log pump down, it never drops
//! lines below the cap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod docker;
mod loaded_images;
mod logs;
mod process;

pub use docker::{DockerExecutor, ImageInfo};
pub use process::ProcessExecutor;

/// Where the inputs are mounted inside a container.
pub const CONTAINER_INPUT_DIR: &str = "/keynet/input";
/// Where the outputs are mounted inside a container.
pub const CONTAINER_OUTPUT_DIR: &str = "/keynet/output";
/// Where the events file is mounted inside a container.
pub const CONTAINER_EVENTS_FILE: &str = "/keynet/events.jsonl";
/// Label carrying the job id on every container the Docker executor creates.
pub const JOB_LABEL: &str = "ai.keynet.job";
/// Label carrying the attempt number on every container the Docker executor creates.
pub const ATTEMPT_LABEL: &str = "ai.keynet.attempt";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A container image on the Docker engine: an image id (`sha256:<hex>`) or a
    /// `repository@sha256:<hex>` digest reference (never a mutable tag).
    Image { reference: String },
    /// A local executable (run by the process executor only, from an allowed folder).
    Local { path: PathBuf },
}

/// Resource limits of one run. A zero leaves that limit unset (the engine's default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    pub gpus: u32,
    pub cpus: f64,
    pub memory_mb: u64,
    pub pids: u32,
}

/// One run of a trainer for a job attempt.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The container is named `keynet-job-<job_id>-<attempt>` and labelled
    /// `ai.keynet.job=<job_id>`.
    pub job_id: String,
    pub attempt: i32,
    pub program: Program,
    /// Appended to the image's entrypoint (or the program path): hyperparameter flags.
    pub args: Vec<String>,
    /// Contract variables; the executor adds `KEYNET_INPUT_DIR`, `KEYNET_OUTPUT_DIR` and
    /// `KEYNET_EVENTS` itself (values given here for those names are ignored).
    pub env: Vec<(String, String)>,
    /// Host folder mounted read-only at `/keynet/input`.
    pub input_dir: PathBuf,
    /// Host folder mounted writable at `/keynet/output`.
    pub output_dir: PathBuf,
    /// Host file (created by the caller) mounted writable at `/keynet/events.jsonl`.
    pub events_file: PathBuf,
    pub resources: Resources,
    /// Wall-clock limit from start; the workload is killed when it is reached.
    pub max_runtime: Duration,
    /// stdout+stderr bytes forwarded before the output is truncated.
    pub log_limit_bytes: usize,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line of the workload's output, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    pub text: String,
}

/// How the workload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited by itself with this code (a process killed by a signal: 128 + signal).
    Code(i64),
    /// It was killed at `max_runtime`.
    TimedOut,
    /// It was killed because the cancellation token fired.
    Cancelled,
}

/// The result of a run that the platform carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub exit: Exit,
    /// Wall time from start to exit.
    pub runtime: Duration,
    /// Whether output beyond `log_limit_bytes` was discarded.
    pub logs_truncated: bool,
}

/// Something that runs trainers.
pub trait Executor: Send + Sync + 'static {
    /// `"docker"` or `"process"`.
    fn name(&self) -> &'static str;
    /// Why this executor cannot run the program with these resources, or Ok.
    fn check(&self, program: &Program, resources: &Resources) -> Result<(), String>;
    /// Runs the launch to its end, forwarding log lines to `logs`. Cancelling `cancel`
    /// kills the workload and ends with [`Exit::Cancelled`]. Everything the run created
    /// (container, process group, work folder) is gone when it returns, and also when the
    /// future is dropped before it completes.
    fn run<'a>(
        &'a self,
        launch: &'a Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>>;

    /// Makes an image the engine does not have available from `archive` (a `docker load`
    /// tar, opened only when needed), for one run, which calls [`Executor::release_image`]
    /// when it ends. Executors that run no images have nothing to do.
    fn ensure_image<'a>(
        &'a self,
        _reference: &'a str,
        _archive: ImageArchive,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// The run that called [`Executor::ensure_image`] ended, whatever its outcome: what
    /// the executor loaded for it and no other run uses is removed.
    fn release_image<'a>(&'a self, _reference: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Opens a `docker load` archive of an image.
pub type ImageArchive = Box<
    dyn FnOnce() -> BoxFuture<
            'static,
            anyhow::Result<futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>>,
        > + Send,
>;

/// Picks the first executor whose check passes, or returns every executor's reason joined.
pub fn choose<'a>(
    executors: &'a [Arc<dyn Executor>],
    program: &Program,
    resources: &Resources,
) -> Result<&'a Arc<dyn Executor>, String> {
    let mut reasons = Vec::with_capacity(executors.len());
    for executor in executors {
        match executor.check(program, resources) {
            Ok(()) => return Ok(executor),
            Err(reason) => reasons.push(format!("{}: {reason}", executor.name())),
        }
    }
    if reasons.is_empty() {
        return Err("no executor is configured".to_owned());
    }
    Err(reasons.join("; "))
}

/// The launch's environment less the variables the executor sets itself.
fn contract_env(launch: &Launch) -> impl Iterator<Item = &(String, String)> {
    launch.env.iter().filter(|(name, _)| {
        !matches!(
            name.as_str(),
            "KEYNET_INPUT_DIR" | "KEYNET_OUTPUT_DIR" | "KEYNET_EVENTS"
        )
    })
}

/// The outcome of a run whose cancellation came before anything was started.
fn cancelled_before_start() -> Outcome {
    Outcome {
        exit: Exit::Cancelled,
        runtime: Duration::ZERO,
        logs_truncated: false,
    }
}
