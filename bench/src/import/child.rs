//! Running one tool as a child process under GNU `time`: its wall time, its peak RSS and
//! its stdout. Measuring both tools the same way, each in a process of its own, keeps their
//! figures comparable and keeps this benchmark's own memory out of them.

use anyhow::{Context, Result, ensure};
use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// GNU time; `%M` is the child's maximum resident set size in KiB (from its rusage).
const GNU_TIME: &str = "/usr/bin/time";
/// Prefixes time's line, to tell it apart from whatever the child writes to stderr.
const RSS_MARKER: &str = "keynet-bench-peak-rss-kib=";

#[derive(Clone, Debug)]
pub struct ChildRun {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub stdout: String,
}

/// Runs `program args…` to completion; an error if it fails.
pub fn run_measured<S: AsRef<OsStr>>(program: &OsStr, args: &[S]) -> Result<ChildRun> {
    let mut command = Command::new(GNU_TIME);
    command
        .arg("-f")
        .arg(format!("{RSS_MARKER}%M"))
        .arg(program)
        .args(args)
        .stdin(Stdio::null());
    let name = program.to_string_lossy();
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("cannot run {GNU_TIME} (is GNU time installed?)"))?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // GNU time exits with the child's status.
    ensure!(
        output.status.success(),
        "{name} failed ({}): {stderr}",
        output.status
    );
    Ok(ChildRun {
        wall,
        peak_rss_kib: peak_rss_kib(&stderr)
            .with_context(|| format!("no peak RSS from {GNU_TIME} for {name}: {stderr}"))?,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

fn peak_rss_kib(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix(RSS_MARKER)?.parse().ok())
}

/// Flushes dirty pages to disk (not timed), so the writeback of one run's files does not
/// land in the next run's measurement.
pub fn sync_disks() -> Result<()> {
    let status = Command::new("sync").status().context("cannot run sync")?;
    ensure!(status.success(), "sync failed ({status})");
    Ok(())
}

/// The first line a tool prints for `args` (its version), or "unknown".
pub fn first_line_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .map(|line| line.trim().to_owned())
        })
        .filter(|line| !line.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
