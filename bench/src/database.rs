//! The database server a run used, for the reports of the benches that run on PostgreSQL
//! (apart from `machine.rs`, which `scan_bench` shares without a database).

use anyhow::{Context, Result};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

/// "PostgreSQL 15.20 (Debian 15.20-0+deb12u1)" of the server at `url`.
pub async fn postgres_version(url: &str) -> Result<String> {
    let db = Database::connect(url).await?;
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version() AS version",
        ))
        .await?
        .context("PostgreSQL returned no version")?;
    let version: String = row.try_get("", "version")?;
    db.close().await?;
    Ok(version.split(" on ").next().unwrap_or(&version).to_string())
}
