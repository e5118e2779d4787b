//! The stage: the platform in process on a fresh PostgreSQL database with the local blob
//! store (the default), and a trainer repository its owner may push to, set up through the
//! API as a trainer author would: sign up, create an organization and a trainer, take an
//! API token with the `TRAINER_PUSH` scope. `docker login` then trades the email and that
//! token for registry tokens at `GET /v2/token`.

use anyhow::{Context, Result};
use keynet_api::platform::{Platform, launch};
use keynet_api::settings::{DockerMode, Settings};
use keynet_testkit::Gql;
use keynet_testkit::pg::TestDatabase;
use keynet_testkit::registry::Registry;
use tempfile::TempDir;

const JWT_SECRET: &str = "keynet-bench-only-secret-0123456789abcdef";
const ORG: &str = "bench";
const TRAINER: &str = "Push Bench";

pub struct Stage {
    pub platform: Platform,
    pub registry: Registry,
    /// The Basic credentials of `GET /v2/token`: the owner's email and API token.
    pub email: String,
    pub api_token: String,
    /// `<org>/<trainer>`.
    pub repository: String,
    _data_dir: TempDir,
}

impl Stage {
    /// A registry token for pushing to the repository; they live 5 minutes, so each
    /// round takes its own.
    pub async fn push_bearer(&self) -> String {
        self.registry
            .bearer(&self.email, &self.api_token, &self.repository, "push,pull")
            .await
    }
}

fn settings(database: &TestDatabase, data_dir: &std::path::Path) -> Result<Settings> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(database.url.clone()),
        // The registry needs no background task; their polling would compete for the CPUs.
        run_workers: false,
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.executor.docker = DockerMode::Off;
    settings.resolve().context("the bench settings are refused")
}

/// Sets everything up; the test kit's helpers panic on failures, so call this in a task.
pub async fn prepare(database: &TestDatabase) -> Result<Stage> {
    let data_dir = tempfile::tempdir()?;
    let platform = launch(settings(database, data_dir.path())?)
        .await
        .context("cannot launch the platform")?;
    let gql = Gql::new(platform.url());
    let owner = gql.signup("author@example.com").await;
    let org_id = gql.create_org(&owner, ORG).await;
    let trainer = gql.create_trainer(&owner.token, &org_id, TRAINER).await;
    let api_token = gql
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    Ok(Stage {
        registry: Registry::new(&platform.url()),
        platform,
        email: owner.email,
        api_token,
        repository: format!("{ORG}/{trainer}"),
        _data_dir: data_dir,
    })
}
