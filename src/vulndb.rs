//! `keynet vulndb`: the vulnerability database the image scan matches packages against.

use crate::DataArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use keynet_api::Settings;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum VulndbCommand {
    /// Import OSV advisories: new records are added, changed ones (a newer `modified`)
    /// replace the stored copy, unchanged ones are left alone. Prints one summary line;
    /// records that cannot be read are named on standard error and skipped.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// A zip of OSV records (an OSV bulk download such as `Debian/all.zip`) or a folder
    /// searched for `*.json` records.
    #[arg(value_name = "PATH")]
    path: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

pub async fn run(command: VulndbCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        VulndbCommand::Import(args) => import(&args.path, settings).await,
    }
}

async fn import(path: &Path, settings: &Settings) -> anyhow::Result<()> {
    // Before the database is opened: a mistyped path should neither wait for a database
    // nor create the embedded default's data folder.
    std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let marketplace = keynet_api::platform::open_marketplace(settings).await?;
    let outcome = marketplace.import_advisories(path).await?;
    for reason in &outcome.skipped {
        eprintln!("skipped {reason}");
    }
    println!(
        "advisories from {}: added: {}, updated: {}, unchanged: {}, skipped: {}",
        path.display(),
        outcome.added,
        outcome.updated,
        outcome.unchanged,
        outcome.skipped.len()
    );
    Ok(())
}
