//! The platform under test, in process on a fresh PostgreSQL database, listening on loopback.

use crate::probe::SqlProbe;
use anyhow::{Context, Result};
use keynet_api::Settings;
use keynet_api::platform::{Platform, connect, launch, launch_on};
use std::path::Path;
use std::sync::Arc;

/// Seeding and the measured platform sign tokens with the same key, so the tokens issued
/// while seeding stay valid.
const JWT_SECRET: &str = "keynet-bench-only-secret-0123456789abcdef";

/// The longest access-token life the platform allows; the run is planned to fit in it.
pub const TOKEN_TTL_SECS: i64 = 3600;

pub fn settings(database_url: &str, data_dir: &Path) -> Result<Settings> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(database_url.into()),
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.auth.access_token_ttl_secs = TOKEN_TTL_SECS;
    // Invitation emails are delivered by the workers; polling often keeps seeding short.
    settings.workers.poll_interval_ms = 20;
    settings.resolve().context("the bench settings are refused")
}

/// With workers, which deliver the invitation emails seeding reads.
pub async fn launch_for_seeding(settings: &Settings) -> Result<Platform> {
    launch(settings.clone())
        .await
        .context("cannot launch the platform for seeding")
}

/// Without workers, so every statement on the pool belongs to a request (their polling would
/// also compete with the load). The probe counts and times those statements.
pub async fn launch_measured(settings: &Settings) -> Result<(Platform, Arc<SqlProbe>)> {
    let settings = Settings {
        run_workers: false,
        ..settings.clone()
    };
    let mut db = connect(&settings).await?;
    let probe = SqlProbe::install(&mut db);
    let platform = launch_on(settings, db)
        .await
        .context("cannot launch the measured platform")?;
    Ok((platform, probe))
}
