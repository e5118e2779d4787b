//! `keynet-train status` and `keynet-train versions`.

use super::follow::{follow, outcome, print_report, print_status};
use super::session::signed_in;
use crate::api;
use crate::args::{StatusArgs, VersionsArgs};
use crate::config::ConfigStore;
use crate::error::{Error, Result};
use std::time::Duration;

pub async fn status(store: &ConfigStore, args: StatusArgs) -> Result<()> {
    let (_, client) = signed_in(store)?;
    let version = api::version_of_upload(&client, &args.upload_key).await?;
    if args.wait && !version.settled() {
        let version = follow(&client, version, Duration::from_secs(args.timeout)).await?;
        print_status(&version);
        return outcome(&version);
    }
    print_report(&version);
    outcome(&version)
}

pub async fn versions(store: &ConfigStore, args: VersionsArgs) -> Result<()> {
    let (config, client) = signed_in(store)?;
    let trainers = api::trainers(&client, &config.org.id).await?;
    let wanted = args.trainer.as_str();
    let trainer = trainers
        .iter()
        .find(|t| t.id == wanted || t.slug == wanted || t.name.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            Error::Validation(format!(
                "{} has no trainer {wanted:?}; its trainers: {}",
                config.org.slug,
                trainers
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    println!("{} ({})", trainer.name, trainer.slug);
    if trainer.versions.is_empty() {
        println!("  no versions yet");
    }
    for version in &trainer.versions {
        println!(
            "  v{:<4} {:<16} {}  {}",
            version.version,
            version.status,
            version.created_at.format("%Y-%m-%d %H:%M"),
            version.manifest_digest.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
