//! Following a version through validation, scan and test run, and printing its
//! itemised report.

use crate::api::{self, Check, VersionReport};
use crate::client::Client;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

/// How often the version is read while waiting: checks take seconds, so a second apart
/// shows each as it lands without loading the server.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Reads the version until it is READY or REJECTED, printing each check once as it
/// appears and each status change; gives up after `timeout`.
pub async fn follow(
    client: &Client,
    mut version: VersionReport,
    timeout: Duration,
) -> Result<VersionReport> {
    let started = Instant::now();
    let mut shown_checks = 0;
    let mut shown_status = String::new();
    loop {
        if version.status != shown_status {
            eprintln!("      … {}", version.status);
            shown_status.clone_from(&version.status);
        }
        for check in version.checks.iter().skip(shown_checks) {
            println!("{}", check_line(check));
        }
        shown_checks = version.checks.len();
        if version.settled() {
            return Ok(version);
        }
        if started.elapsed() >= timeout {
            return Err(Error::Server {
                code: "TIMEOUT".into(),
                message: format!(
                    "version {} is still {} after {} s; see later with keynet-train status",
                    version.version,
                    version.status,
                    timeout.as_secs()
                ),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
        version = api::version(client, &version.id).await?;
    }
}

/// The version's status and every check so far.
pub fn print_report(version: &VersionReport) {
    for check in &version.checks {
        println!("{}", check_line(check));
    }
    print_status(version);
}

/// The version's status and manifest, after [`follow`] printed its checks.
pub fn print_status(version: &VersionReport) {
    println!("version {}: {}", version.version, version.status);
    if let Some(digest) = &version.manifest_digest {
        println!("manifest: {digest}");
    }
}

/// A settled version's outcome: REJECTED is an error naming the failed checks, EXPIRED
/// one saying nothing was pushed with its key.
pub fn outcome(version: &VersionReport) -> Result<()> {
    if version.status == "EXPIRED" {
        return Err(Error::Validation(format!(
            "version {} expired: nothing was pushed before its upload key expired; push again",
            version.version
        )));
    }
    if version.status != "REJECTED" {
        return Ok(());
    }
    let failed: Vec<&str> = version
        .checks
        .iter()
        .filter(|check| check.status == "FAILED")
        .map(|check| check.name.as_str())
        .collect();
    Err(Error::Validation(format!(
        "version {} was rejected (failed: {})",
        version.version,
        if failed.is_empty() {
            "see the report".to_string()
        } else {
            failed.join(", ")
        }
    )))
}

fn check_line(check: &Check) -> String {
    let mark = match check.status.as_str() {
        "PASSED" => "✓",
        "FAILED" => "✗",
        "WARNING" => "!",
        _ => "·",
    };
    format!("  {mark} {:<24} {}", check.name, check.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(status: &str, checks: &[(&str, &str)]) -> VersionReport {
        VersionReport {
            id: "v".into(),
            version: 3,
            status: status.into(),
            image: "registry/acme/net:kup_x".into(),
            manifest_digest: None,
            created_at: chrono::Utc::now(),
            checks: checks
                .iter()
                .map(|(name, status)| Check {
                    name: (*name).into(),
                    status: (*status).into(),
                    message: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_rejected_version_is_an_error_naming_its_failed_checks() {
        assert!(outcome(&version("READY", &[("labels", "PASSED")])).is_ok());
        let rejected = outcome(&version(
            "REJECTED",
            &[
                ("labels", "FAILED"),
                ("platform", "PASSED"),
                ("scan.policy", "FAILED"),
            ],
        ))
        .expect_err("rejected");
        assert_eq!(rejected.exit_code(), 5);
        assert_eq!(
            rejected.to_string(),
            "version 3 was rejected (failed: labels, scan.policy)"
        );
        let expired = outcome(&version("EXPIRED", &[])).expect_err("expired");
        assert_eq!(expired.exit_code(), 5);
        assert!(expired.to_string().contains("expired"), "{expired}");
    }

    #[test]
    fn check_lines_mark_their_status() {
        let line = check_line(&Check {
            name: "labels".into(),
            status: "FAILED".into(),
            message: "label ai.keynet.trainer.frameworks is missing".into(),
        });
        assert!(line.starts_with("  ✗ labels"), "{line}");
        assert!(line.ends_with("is missing"), "{line}");
    }
}
