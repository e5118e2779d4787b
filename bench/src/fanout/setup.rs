//! The stage: the platform in process with a RUNNING training job whose token the bench
//! holds, as a trainer would. Set up through the API with workers (the dataset import needs
//! them), then relaunched without workers so nothing else runs the job, which the bench
//! then starts itself with `Domain::begin_attempt`.

use anyhow::{Context, Result};
use keynet_api::platform::{Platform, launch};
use keynet_api::settings::{DockerMode, Settings};
use keynet_testkit::Gql;
use keynet_testkit::pg::TestDatabase;
use serde_json::json;
use std::path::Path;
use tempfile::TempDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL (PgEventBus: NOTIFY, one LISTEN connection)",
            Backend::Sqlite => "SQLite (in-process event bus)",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

const JWT_SECRET: &str = "keynet-bench-only-secret-0123456789abcdef";
/// The longest access-token life the platform allows: the subscribers' token must outlive
/// the run.
const TOKEN_TTL_SECS: i64 = 3600;
/// The trainer is never run (there are no workers): any executable will do.
const PROGRAM: &str = "/bin/true";

pub struct Stage {
    pub platform: Platform,
    /// The owner's access token: what the subscribers connect with.
    pub access_token: String,
    pub job_id: String,
    /// The job's own token, the credential of the HTTP event transport.
    pub job_token: String,
    _data_dir: TempDir,
}

fn settings(
    backend: Backend,
    database: Option<&TestDatabase>,
    data_dir: &Path,
) -> Result<Settings> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url: match backend {
            Backend::Postgres => Some(database.context("no database")?.url.clone()),
            Backend::Sqlite => None,
        },
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.auth.access_token_ttl_secs = TOKEN_TTL_SECS;
    settings.executor.docker = DockerMode::Off;
    // The import during set-up is run by the workers; polling often keeps it short.
    settings.workers.poll_interval_ms = 20;
    settings.resolve().context("the bench settings are refused")
}

/// Sets everything up; the test kit's helpers panic on failures, so call this in a task.
pub async fn prepare(backend: Backend, database: Option<&TestDatabase>) -> Result<Stage> {
    let data_dir = tempfile::tempdir()?;
    let settings = settings(backend, database, data_dir.path())?;

    let platform = launch(settings.clone())
        .await
        .context("cannot launch the platform for set-up")?;
    let gql = Gql::new(platform.url());
    let owner = gql.signup("owner@example.com").await;
    let org = gql.create_org(&owner, "fanout").await;
    let project = gql.create_project(&owner.token, &org, "Fan-out").await;
    let snapshot = gql
        .snapshot_of(&owner.token, &project, &[("bolt", 6), ("nut", 6)])
        .await;
    let trainers = data_dir.path().join("trainers");
    std::fs::create_dir_all(&trainers)?;
    let program = trainers.join("noop-trainer");
    std::fs::copy(PROGRAM, &program).with_context(|| format!("copying {PROGRAM}"))?;
    let version = gql
        .register_trainer(
            &owner.token,
            &org,
            "noop-trainer",
            &format!("file://{}", program.display()),
        )
        .await;
    platform.stop().await?;

    let platform = launch(Settings {
        run_workers: false,
        ..settings
    })
    .await
    .context("cannot launch the measured platform")?;
    let gql = Gql::new(platform.url());
    let job_id = gql
        .start_training(&owner.token, &project, &version, &snapshot, json!({}))
        .await;
    let attempt = platform
        .domain
        .begin_attempt(job_id.parse().context("not a job id")?)
        .await?
        .context("the job cannot start")?;
    Ok(Stage {
        platform,
        access_token: owner.token,
        job_id,
        job_token: attempt.token,
        _data_dir: data_dir,
    })
}
