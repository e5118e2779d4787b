//! Runs job attempts: prepares the inputs, runs the trainer on an executor, relays its
//! events and output while it runs, stores the files it reports, and ends the attempt.

mod actions;
mod launch;
mod resolve;
mod sample_dataset;
mod tail;

pub use resolve::TrainerImages;

use crate::executor::{self, Executor, Exit, LogLine, LogStream};
use crate::runner::TaskHandler;
use anyhow::Context;
use futures_util::future::BoxFuture;
use keynet_domain::Domain;
use keynet_domain::entities::job_logs::{LogLevel, LogSource};
use keynet_domain::entities::tasks;
use keynet_domain::ids::JobId;
use keynet_domain::jobs::RUN_JOB;
use keynet_domain::jobs::lifecycle::{Attempt, AttemptReport, Ending};
use keynet_marketplace::Marketplace;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tail::EventTail;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Clone, Debug)]
pub struct JobRunnerConfig {
    /// Each attempt works in `<work_dir>/<job>/<attempt>`, removed when it ends.
    pub work_dir: PathBuf,
    /// The server's public URL, for the HTTP transport of executors that give network.
    pub public_url: String,
    pub log_limit_bytes: usize,
    /// How often the events file is read and cancellation checked.
    pub tick: Duration,
}

pub struct JobHandler {
    domain: Arc<Domain>,
    /// Where pushed versions' images come from.
    marketplace: Arc<Marketplace>,
    executors: Vec<Arc<dyn Executor>>,
    config: JobRunnerConfig,
}

#[derive(Deserialize)]
struct Payload {
    job_id: JobId,
}

impl JobHandler {
    pub fn new(
        marketplace: Arc<Marketplace>,
        executors: Vec<Arc<dyn Executor>>,
        config: JobRunnerConfig,
    ) -> Self {
        Self {
            domain: marketplace.domain().clone(),
            marketplace,
            executors,
            config,
        }
    }

    async fn run_job(&self, task: &tasks::Model) -> anyhow::Result<()> {
        let payload: Payload =
            serde_json::from_value(task.payload.clone()).context("malformed job task")?;
        let Some(attempt) = self.domain.begin_attempt(payload.job_id).await? else {
            return Ok(());
        };
        let job = attempt.job.clone();
        let span = tracing::info_span!("job", id = %job.id, attempt = job.attempt);
        let dir = self
            .config
            .work_dir
            .join(job.id.to_string())
            .join(job.attempt.to_string());
        let result = self.run_attempt(&attempt, &dir).instrument(span).await;
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, dir = %dir.display(), "could not remove a job's work folder");
        }
        match result {
            Ok(report) => {
                if self.domain.finish_attempt(&job, report).await?.is_none() {
                    tracing::warn!(
                        "the attempt was taken over by another worker; its result is dropped"
                    );
                }
                Ok(())
            }
            Err(platform) if task.attempts < task.max_attempts => {
                let reason = format!("{platform:#}");
                self.domain.requeue_attempt(&job, &reason).await?;
                Err(platform)
            }
            Err(platform) => {
                let report = AttemptReport {
                    ending: Ending::PlatformError {
                        error_type: "executor",
                        message: format!("{platform:#}"),
                    },
                    runtime_ms: 0,
                    executor: None,
                };
                self.domain.finish_attempt(&job, report).await?;
                Ok(())
            }
        }
    }

    /// Runs the attempt to its end; `Err` only when the platform failed to run it.
    async fn run_attempt(
        &self,
        attempt: &Attempt,
        dir: &std::path::Path,
    ) -> anyhow::Result<AttemptReport> {
        let program = launch::program_of(&attempt.version);
        let resources = launch::resources_of(&attempt.job);
        let executor = match executor::choose(&self.executors, &program, &resources) {
            Ok(executor) => executor.clone(),
            Err(reason) => {
                return Ok(AttemptReport {
                    ending: Ending::PlatformError {
                        error_type: "unschedulable",
                        message: format!("no executor can run this trainer: {reason}"),
                    },
                    runtime_ms: 0,
                    executor: None,
                });
            }
        };
        // A pushed version's image is loaded from the registry's blobs for this run, and
        // removed when it ends (its last user), whatever the outcome.
        let pushed = match &program {
            executor::Program::Image { reference } if attempt.version.manifest_digest.is_some() => {
                Some(reference.clone())
            }
            _ => None,
        };
        if let Some(reference) = &pushed {
            let marketplace = self.marketplace.clone();
            let version = attempt.version.clone();
            let archive: executor::ImageArchive = Box::new(move || {
                Box::pin(async move { Ok(marketplace.image_archive(&version).await?) })
            });
            executor.ensure_image(reference, archive).await?;
        }
        let result = self
            .run_on(&executor, attempt, dir, program, resources)
            .await;
        if let Some(reference) = &pushed {
            executor.release_image(reference).await;
        }
        result
    }

    /// Runs the attempt on `executor`, its image available.
    async fn run_on(
        &self,
        executor: &Arc<dyn Executor>,
        attempt: &Attempt,
        dir: &std::path::Path,
        program: executor::Program,
        resources: executor::Resources,
    ) -> anyhow::Result<AttemptReport> {
        let network = executor.name() == "process";
        let launch = launch::prepare(
            &self.domain,
            attempt,
            dir,
            program,
            resources,
            &self.config,
            network,
        )
        .await?;
        let (log_sender, log_receiver) = mpsc::channel::<LogLine>(1024);
        let cancel = CancellationToken::new();
        let relay = self.relay_while_running(attempt, &launch, log_receiver, cancel.clone());
        let run = executor.run(&launch, log_sender, cancel.clone());
        let (outcome, relayed) = tokio::join!(run, relay);
        let outcome = outcome?;
        let mut relay_state = relayed;
        // Whatever the trainer wrote last, after the relay loop saw the workload end.
        relay_state
            .step(&self.domain, attempt, &launch.output_dir)
            .await;
        if outcome.logs_truncated {
            let note = format!(
                "output beyond {} bytes was discarded",
                self.config.log_limit_bytes
            );
            self.domain
                .append_output(
                    &attempt.job,
                    vec![(LogSource::Platform, LogLevel::Warning, note)],
                )
                .await?;
        }
        let ending = match outcome.exit {
            Exit::Code(code) => Ending::Exited { code },
            Exit::TimedOut => Ending::TimedOut,
            Exit::Cancelled => Ending::Cancelled,
        };
        Ok(AttemptReport {
            ending,
            runtime_ms: outcome.runtime.as_millis().try_into().unwrap_or(i64::MAX),
            executor: Some(executor.name().to_string()),
        })
    }

    /// Until the log channel closes (the workload ended): relays events, stores the files
    /// they name, stores output lines, and watches for cancellation.
    async fn relay_while_running(
        &self,
        attempt: &Attempt,
        launch: &executor::Launch,
        mut logs: mpsc::Receiver<LogLine>,
        cancel: CancellationToken,
    ) -> actions::RelayState {
        let mut state = actions::RelayState::new(EventTail::new(launch.events_file.clone()));
        let mut ticker = tokio::time::interval(self.config.tick);
        let mut pending: Vec<(LogSource, LogLevel, String)> = Vec::new();
        loop {
            tokio::select! {
                line = logs.recv() => match line {
                    Some(line) => {
                        let (source, level) = match line.stream {
                            LogStream::Stdout => (LogSource::Stdout, LogLevel::Info),
                            LogStream::Stderr => (LogSource::Stderr, LogLevel::Warning),
                        };
                        pending.push((source, level, line.text));
                        if pending.len() >= 200 {
                            self.flush_output(attempt, &mut pending).await;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => {
                    self.flush_output(attempt, &mut pending).await;
                    state.step(&self.domain, attempt, &launch.output_dir).await;
                    match self.domain.cancel_requested(attempt.job.id).await {
                        Ok(true) => cancel.cancel(),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "could not check for cancellation"),
                    }
                }
            }
        }
        self.flush_output(attempt, &mut pending).await;
        state
    }

    async fn flush_output(
        &self,
        attempt: &Attempt,
        pending: &mut Vec<(LogSource, LogLevel, String)>,
    ) {
        if let Err(e) = self
            .domain
            .append_output(&attempt.job, std::mem::take(pending))
            .await
        {
            tracing::warn!(error = %e, "could not store the workload's output");
        }
    }
}

impl TaskHandler for JobHandler {
    fn kind(&self) -> &'static str {
        RUN_JOB
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.run_job(task))
    }

    fn lost<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let payload: Payload =
                serde_json::from_value(task.payload.clone()).context("malformed job task")?;
            self.domain.fail_lost_job(payload.job_id).await?;
            Ok(())
        })
    }
}
