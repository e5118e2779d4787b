//! `fanout_bench`: how long a trainer event takes to reach the last of 1,000 graphql-ws
//! subscribers of one job. The platform runs in process (on a fresh PostgreSQL database,
//! then on SQLite); the bench plays the trainer, posting `progress` events over the HTTP
//! transport with the job's token, and the subscribers. The Markdown report goes to
//! stdout, progress to stderr.

#[path = "../fanout/clients.rs"]
mod clients;
#[path = "../database.rs"]
mod database;
#[path = "../machine.rs"]
mod machine;
#[path = "../fanout/report.rs"]
mod report;
#[path = "../fanout/run.rs"]
mod run;
#[path = "../fanout/setup.rs"]
mod setup;

use anyhow::{Context, Result, ensure};
use clap::{Parser, ValueEnum};
use keynet_testkit::pg::admin_url;
use std::time::Duration;

/// File descriptors the run needs beyond two per subscriber (client and server side).
const SPARE_FDS: u64 = 512;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    Postgres,
    Sqlite,
}

/// Times event → last subscriber for many graphql-ws subscribers of one job.
#[derive(Parser, Debug)]
struct Args {
    /// graphql-ws clients subscribed to the job's events.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Measured events.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Unmeasured events first (the first one also waits for every subscription).
    #[arg(long, default_value_t = 10)]
    warmup_events: usize,
    /// Milliseconds between an event reaching everyone and the next POST.
    #[arg(long, default_value_t = 10)]
    gap_ms: u64,
    /// Backends to measure, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "postgres,sqlite"
    )]
    backends: Vec<BackendArg>,
}

/// The soft limit on open files, from /proc (no unsafe code, no extra crate).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        (1..=20_000).contains(&args.subscribers),
        "--subscribers takes 1 to 20000"
    );
    ensure!(args.events >= 1, "--events must be at least 1");
    ensure!(
        args.warmup_events >= 1,
        "--warmup-events must be at least 1"
    );
    let needed = 2 * args.subscribers as u64 + SPARE_FDS;
    if let Some(limit) = open_files_limit() {
        ensure!(
            limit >= needed,
            "{} subscribers need about {needed} open files; the limit is {limit}: \
             run `ulimit -n 8192` first",
            args.subscribers
        );
    }
    let plan = run::Plan {
        subscribers: args.subscribers,
        events: args.events,
        warmup_events: args.warmup_events,
        gap: Duration::from_millis(args.gap_ms),
        backends: args
            .backends
            .iter()
            .map(|b| match b {
                BackendArg::Postgres => setup::Backend::Postgres,
                BackendArg::Sqlite => setup::Backend::Sqlite,
            })
            .collect(),
    };
    let machine = machine::Machine::capture();
    let postgres = if plan.backends.contains(&setup::Backend::Postgres) {
        database::postgres_version(&admin_url())
            .await
            .context("cannot reach PostgreSQL (KEYNET_TEST_POSTGRES names the server)")?
    } else {
        "not used".into()
    };
    let mut figures = Vec::new();
    for backend in &plan.backends {
        figures.push(run::run_backend(&plan, *backend).await?);
    }
    print!("{}", report::render(&plan, &machine, &postgres, &figures));
    Ok(())
}
