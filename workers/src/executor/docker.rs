//! The Docker executor: runs a trainer image as an untrusted container.
//!
//! Every container gets: no network (`NetworkMode=none`), all capabilities dropped,
//! `no-new-privileges`, a read-only root filesystem with a size-limited tmpfs `/tmp`, the
//! pids/memory (swap included)/CPU limits of the launch, GPUs only through a device request
//! when asked for and available, the inputs mounted read-only and only the outputs and the
//! events file writable, a bounded json-file log, and the image's own user. It is named
//! `keynet-job-<job>-<attempt>` and labelled with the job and the attempt, so a crashed
//! worker's leftover is found and removed before the job runs again. The container is
//! removed at the end of every run, whatever way it ends (also when the run's future is
//! dropped: a guard spawns the removal). Images the platform loads for runs are removed
//! after them too (see `loaded_images`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, DeviceRequest, HostConfig, HostConfigLogConfig, Mount, MountType,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::loaded_images::{LoadedImages, SWEEP_GRACE};
use super::logs::LogCap;
use super::{
    ATTEMPT_LABEL, CONTAINER_EVENTS_FILE, CONTAINER_INPUT_DIR, CONTAINER_OUTPUT_DIR, Executor,
    Exit, JOB_LABEL, Launch, LogLine, LogStream, Outcome, Program, Resources, contract_env,
};

/// Size of the tmpfs mounted at `/tmp` (it counts against the memory limit too).
const TMP_SIZE: &str = "256m";
/// Seconds between the stop signal and the kill on timeout or cancellation.
const STOP_GRACE_SECONDS: i32 = 2;
/// How long the log stream may go on after the container stopped.
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Docker refuses memory limits below 6 MiB.
const MIN_MEMORY_MB: u64 = 6;

/// What `inspect_image` tells about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The image id, `sha256:<hex>`.
    pub id: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// Runs `Program::Image` on a Docker engine.
pub struct DockerExecutor {
    docker: Docker,
    gpus: bool,
    cpus: Option<i64>,
    loaded: LoadedImages,
}

impl DockerExecutor {
    /// Connects to the local engine (`DOCKER_HOST` honoured, else the default socket),
    /// negotiates the API version and pings it. Fails when no engine answers.
    pub async fn connect() -> anyhow::Result<Self> {
        let docker = Docker::connect_with_defaults().context("configuring the Docker client")?;
        let docker = docker
            .negotiate_version()
            .await
            .context("no Docker engine answers")?;
        docker.ping().await.context("pinging the Docker engine")?;
        let info = docker
            .info()
            .await
            .context("reading the Docker engine's info")?;
        let gpus = info
            .runtimes
            .as_ref()
            .is_some_and(|runtimes| runtimes.keys().any(|name| name.contains("nvidia")))
            || info.discovered_devices.as_ref().is_some_and(|devices| {
                devices.iter().any(|device| {
                    device
                        .id
                        .as_deref()
                        .is_some_and(|id| id.starts_with("nvidia.com/gpu"))
                })
            });
        let executor = Self {
            loaded: LoadedImages::new(docker.clone()),
            docker,
            gpus,
            cpus: info.ncpu,
        };
        // What a previous worker on this engine loaded and did not remove (it crashed).
        executor.sweep_loaded_images(SWEEP_GRACE).await;
        Ok(executor)
    }

    /// Removes the images the platform loaded into the engine for runs that ended without
    /// removing them (a crash), marked more than `grace` ago and used by no run of this
    /// executor nor any container. Done at start-up and before every load.
    pub async fn sweep_loaded_images(&self, grace: chrono::Duration) {
        self.loaded.sweep(grace).await;
    }

    /// The engine client, for callers that need more of the engine's API.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// Whether the engine reported GPU support (an nvidia runtime or CDI GPU devices).
    pub fn has_gpus(&self) -> bool {
        self.gpus
    }

    /// Resolves a local image reference (tag, digest or id) to its id, entrypoint, cmd and
    /// labels.
    pub async fn inspect_image(&self, reference: &str) -> anyhow::Result<ImageInfo> {
        let image = self
            .docker
            .inspect_image(reference)
            .await
            .with_context(|| format!("inspecting the image {reference}"))?;
        let id = image
            .id
            .with_context(|| format!("the engine reported no id for the image {reference}"))?;
        let config = image.config.unwrap_or_default();
        Ok(ImageInfo {
            id,
            entrypoint: config.entrypoint.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            labels: config.labels.unwrap_or_default().into_iter().collect(),
        })
    }

    async fn run_launch(
        &self,
        launch: &Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Outcome> {
        let Program::Image { reference } = &launch.program else {
            bail!("the Docker executor runs only images");
        };
        self.check(&launch.program, &launch.resources)
            .map_err(anyhow::Error::msg)?;
        if cancel.is_cancelled() {
            return Ok(super::cancelled_before_start());
        }
        self.remove_leftovers(&launch.job_id).await?;

        let name = container_name(&launch.job_id, launch.attempt);
        let body = container_body(reference, launch)?;
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .with_context(|| format!("creating the container {name} from {reference}"))?;
        let mut guard = RemoveGuard {
            docker: self.docker.clone(),
            id: Some(created.id.clone()),
        };
        let result = self.supervise(&created.id, launch, logs, cancel).await;
        let removed = guard.remove().await;
        let outcome = result?;
        removed?;
        Ok(outcome)
    }

    /// Starts the created container and follows it to its end.
    async fn supervise(
        &self,
        id: &str,
        launch: &Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Outcome> {
        self.docker
            .start_container(id, None)
            .await
            .context("starting the container")?;
        let started = Instant::now();
        let mut pump = AbortOnDrop(tokio::spawn(pump_logs(
            self.docker.clone(),
            id.to_owned(),
            LogCap::new(logs, launch.log_limit_bytes),
        )));

        let wait = wait_exit(&self.docker, id);
        let exit = tokio::select! {
            code = wait => Exit::Code(code?),
            () = tokio::time::sleep(launch.max_runtime) => Exit::TimedOut,
            () = cancel.cancelled() => Exit::Cancelled,
        };
        if (exit == Exit::TimedOut || exit == Exit::Cancelled)
            && let Err(error) = self.stop(id).await
        {
            // The forced removal that follows kills it anyway.
            tracing::warn!(container = id, "stopping the container failed: {error:#}");
        }
        let runtime = started.elapsed();

        let logs_truncated = match tokio::time::timeout(LOG_DRAIN_TIMEOUT, &mut pump.0).await {
            Ok(Ok(Ok(truncated))) => truncated,
            Ok(Ok(Err(error))) => {
                tracing::warn!(
                    container = id,
                    "reading the container's logs failed: {error:#}"
                );
                false
            }
            Ok(Err(join)) => {
                tracing::warn!(container = id, "the log pump failed: {join}");
                false
            }
            Err(_) => {
                tracing::warn!(
                    container = id,
                    "the log stream did not end after the container stopped"
                );
                pump.0.abort();
                false
            }
        };
        Ok(Outcome {
            exit,
            runtime,
            logs_truncated,
        })
    }

    /// Stops the container with a short grace period, then kills it if it still runs.
    async fn stop(&self, id: &str) -> anyhow::Result<()> {
        let stopped = self
            .docker
            .stop_container(
                id,
                Some(StopContainerOptions {
                    t: Some(STOP_GRACE_SECONDS),
                    ..Default::default()
                }),
            )
            .await;
        if let Err(error) = stopped {
            tracing::warn!(container = id, "stopping the container failed: {error}");
            match self
                .docker
                .kill_container(id, Some(KillContainerOptions::default()))
                .await
            {
                Ok(()) => {}
                // 409: it is not running anymore.
                Err(DockerError::DockerResponseServerError {
                    status_code: 409, ..
                }) => {}
                Err(error) => return Err(error).context("killing the container"),
            }
        }
        Ok(())
    }

    /// Removes every container labelled with the job (a crashed worker's).
    async fn remove_leftovers(&self, job_id: &str) -> anyhow::Result<()> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{JOB_LABEL}={job_id}")])]);
        let leftovers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .context("listing the job's leftover containers")?;
        for leftover in leftovers {
            let Some(id) = leftover.id else { continue };
            tracing::info!(
                job = job_id,
                container = id,
                "removing a leftover container"
            );
            remove_container(&self.docker, &id)
                .await
                .with_context(|| format!("removing the leftover container {id}"))?;
        }
        Ok(())
    }
}

impl Executor for DockerExecutor {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn check(&self, program: &Program, resources: &Resources) -> Result<(), String> {
        let Program::Image { reference } = program else {
            return Err("the Docker executor runs only container images".to_owned());
        };
        if !is_pinned_reference(reference) {
            return Err(format!(
                "the image reference {reference:?} is neither an image id (sha256:<hex>) nor a digest reference (name@sha256:<hex>)"
            ));
        }
        if resources.gpus > 0 && !self.gpus {
            return Err("no GPU on this Docker engine".to_owned());
        }
        if !resources.cpus.is_finite() || resources.cpus < 0.0 {
            return Err(format!("invalid CPU limit {}", resources.cpus));
        }
        if let Some(available) = self.cpus
            && resources.cpus > available as f64
        {
            return Err(format!(
                "{} CPUs asked for, the Docker engine has {available}",
                resources.cpus
            ));
        }
        if resources.memory_mb > 0 && resources.memory_mb < MIN_MEMORY_MB {
            return Err(format!(
                "a memory limit of {} MiB is below Docker's minimum of {MIN_MEMORY_MB} MiB",
                resources.memory_mb
            ));
        }
        Ok(())
    }

    fn run<'a>(
        &'a self,
        launch: &'a Launch,
        logs: mpsc::Sender<LogLine>,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        Box::pin(self.run_launch(launch, logs, cancel))
    }

    fn ensure_image<'a>(
        &'a self,
        reference: &'a str,
        archive: super::ImageArchive,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.loaded.acquire(reference, archive))
    }

    fn release_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.loaded.release(reference))
    }
}

/// `sha256:<64 hex>` or `name@sha256:<64 hex>`.
fn is_pinned_reference(reference: &str) -> bool {
    let digest = match reference.rsplit_once('@') {
        Some((name, digest)) if !name.is_empty() => digest,
        Some(_) => return false,
        None => reference,
    };
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `keynet-job-<job>-<attempt>`, with characters Docker does not allow in names replaced.
fn container_name(job_id: &str, attempt: i32) -> String {
    let job: String = job_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("keynet-job-{job}-{attempt}")
}

fn host_path(path: &Path, what: &str) -> anyhow::Result<String> {
    let canonical = path
        .canonicalize()
        .with_context(|| format!("the {what} {} is not there", path.display()))?;
    canonical
        .to_str()
        .map(str::to_owned)
        .with_context(|| format!("the {what} {} is not valid UTF-8", canonical.display()))
}

fn bind(source: String, target: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.to_owned()),
        source: Some(source),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    }
}

fn container_body(reference: &str, launch: &Launch) -> anyhow::Result<ContainerCreateBody> {
    let resources = &launch.resources;
    let mut env: Vec<String> = contract_env(launch)
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    env.push(format!("KEYNET_INPUT_DIR={CONTAINER_INPUT_DIR}"));
    env.push(format!("KEYNET_OUTPUT_DIR={CONTAINER_OUTPUT_DIR}"));
    env.push(format!("KEYNET_EVENTS={CONTAINER_EVENTS_FILE}"));

    let mounts = vec![
        bind(
            host_path(&launch.input_dir, "input folder")?,
            CONTAINER_INPUT_DIR,
            true,
        ),
        bind(
            host_path(&launch.output_dir, "output folder")?,
            CONTAINER_OUTPUT_DIR,
            false,
        ),
        bind(
            host_path(&launch.events_file, "events file")?,
            CONTAINER_EVENTS_FILE,
            false,
        ),
    ];

    let memory = if resources.memory_mb > 0 {
        let bytes = resources
            .memory_mb
            .checked_mul(1024 * 1024)
            .and_then(|bytes| i64::try_from(bytes).ok())
            .context("the memory limit is too large")?;
        Some(bytes)
    } else {
        None
    };
    // Nanoseconds of CPU per second of wall time; `check` bounds it by the engine's CPUs.
    let nano_cpus = (resources.cpus > 0.0).then(|| (resources.cpus * 1e9).round() as i64);
    let device_requests = (resources.gpus > 0).then(|| {
        vec![DeviceRequest {
            driver: Some("nvidia".to_owned()),
            count: Some(i64::from(resources.gpus)),
            capabilities: Some(vec![vec!["gpu".to_owned()]]),
            ..Default::default()
        }]
    });
    // The engine keeps at most two files of this size per container: the cap on what is
    // forwarded does not stop a workload from writing more.
    let log_file_size = launch
        .log_limit_bytes
        .saturating_mul(2)
        .max(16 * 1024 * 1024);

    let host_config = HostConfig {
        network_mode: Some("none".to_owned()),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges:true".to_owned()]),
        readonly_rootfs: Some(true),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_owned(),
            format!("rw,exec,nosuid,nodev,size={TMP_SIZE}"),
        )])),
        pids_limit: (resources.pids > 0).then(|| i64::from(resources.pids)),
        memory,
        memory_swap: memory,
        nano_cpus,
        device_requests,
        mounts: Some(mounts),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_owned()),
            config: Some(HashMap::from([
                ("max-size".to_owned(), log_file_size.to_string()),
                ("max-file".to_owned(), "2".to_owned()),
            ])),
        }),
        privileged: Some(false),
        ..Default::default()
    };

    Ok(ContainerCreateBody {
        image: Some(reference.to_owned()),
        cmd: Some(launch.args.clone()),
        env: Some(env),
        labels: Some(HashMap::from([
            (JOB_LABEL.to_owned(), launch.job_id.clone()),
            (ATTEMPT_LABEL.to_owned(), launch.attempt.to_string()),
        ])),
        network_disabled: Some(true),
        attach_stdin: Some(false),
        open_stdin: Some(false),
        tty: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// Waits for the container to stop and returns its exit code.
async fn wait_exit(docker: &Docker, id: &str) -> anyhow::Result<i64> {
    let mut wait = docker.wait_container(
        id,
        Some(WaitContainerOptions {
            condition: "not-running".to_owned(),
        }),
    );
    match wait.next().await {
        Some(Ok(response)) => {
            if let Some(message) = response.error.and_then(|error| error.message)
                && !message.is_empty()
            {
                bail!("waiting for the container failed: {message}");
            }
            Ok(response.status_code)
        }
        // bollard reports a non-zero exit as an error.
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(error)) => Err(error).context("waiting for the container"),
        None => bail!("the engine ended the wait without an exit code"),
    }
}

/// Follows the container's stdout and stderr into the log cap; returns whether output was
/// truncated.
async fn pump_logs(docker: Docker, id: String, mut cap: LogCap) -> anyhow::Result<bool> {
    let mut stream = docker.logs(
        &id,
        Some(LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    let mut failure = None;
    while let Some(item) = stream.next().await {
        if cap.is_full() {
            // Nothing more is kept: stop following rather than read a flood to its end
            // (the engine's own log files are size-capped). Anything that still came is
            // what was cut off.
            if item.is_ok() {
                cap.mark_truncated();
            }
            break;
        }
        match item {
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                cap.push(LogStream::Stdout, &message).await;
            }
            Ok(LogOutput::StdErr { message }) => cap.push(LogStream::Stderr, &message).await,
            Ok(LogOutput::StdIn { .. }) => {}
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    cap.finish().await;
    match failure {
        Some(error) => Err(error).context("following the container's logs"),
        None => Ok(cap.truncated()),
    }
}

async fn remove_container(docker: &Docker, id: &str) -> Result<(), DockerError> {
    let removed = docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await;
    match removed {
        // 404: already gone; 409: removal already in progress.
        Err(DockerError::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        other => other,
    }
}

/// Removes the container when dropped before `remove` ran (the run's future was dropped).
struct RemoveGuard {
    docker: Docker,
    id: Option<String>,
}

impl RemoveGuard {
    async fn remove(&mut self) -> anyhow::Result<()> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        remove_container(&self.docker, &id)
            .await
            .with_context(|| format!("removing the container {id}"))
    }
}

impl Drop for RemoveGuard {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let docker = self.docker.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = remove_container(&docker, &id).await {
                        tracing::warn!(
                            container = id,
                            "removing an abandoned container failed: {error}"
                        );
                    }
                });
            }
            Err(_) => tracing::warn!(
                container = id,
                "no runtime to remove an abandoned container; the job's next run removes it"
            ),
        }
    }
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_references_are_ids_and_digests() {
        let hex = "a".repeat(64);
        assert!(is_pinned_reference(&format!("sha256:{hex}")));
        assert!(is_pinned_reference(&format!(
            "registry.example/org/trainer@sha256:{hex}"
        )));
        assert!(!is_pinned_reference("trainer:latest"));
        assert!(!is_pinned_reference(&format!("@sha256:{hex}")));
        assert!(!is_pinned_reference("sha256:abc"));
        assert!(!is_pinned_reference(&format!("sha256:{}", "G".repeat(64))));
    }

    #[test]
    fn container_names_keep_only_allowed_characters() {
        assert_eq!(container_name("0192-ab_c.d", 2), "keynet-job-0192-ab_c.d-2");
        assert_eq!(container_name("a/b c", 1), "keynet-job-a-b-c-1");
    }
}
