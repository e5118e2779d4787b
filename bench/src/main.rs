//! `keynet-bench`: requests/s and p50/p99 latency of the GraphQL reads `me` and
//! `organization(slug){members(first: 20)}` at several concurrencies, each against the same
//! SQL run directly; the cost of one login; and the N+1 check. Runs the real platform in
//! process on a fresh PostgreSQL database (dropped at the end) and prints a Markdown report.

mod direct;
mod graphql;
mod load;
mod login;
mod probe;
mod report;
mod run;
mod seed;
mod stack;
mod statements;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use keynet_testkit::pg::TestDatabase;
use std::time::Duration;

/// Measures Keynet's GraphQL reads against the same SQL run directly, and the cost of one
/// login, on a fresh PostgreSQL database (127.0.0.1:5432, or KEYNET_TEST_POSTGRES).
#[derive(Parser, Debug)]
struct Args {
    /// Measured seconds per cell (one query, one concurrency, one path).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Unmeasured seconds before each cell: opens connections and warms caches.
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,
    /// Concurrent connections to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Sequential logins to time.
    #[arg(long, default_value_t = 20)]
    logins: usize,
}

impl Args {
    fn plan(&self) -> Result<run::Plan> {
        let seconds = |value: f64, flag: &str| {
            Duration::try_from_secs_f64(value)
                .with_context(|| format!("--{flag} must be a number of seconds ≥ 0"))
        };
        let plan = run::Plan {
            warmup: seconds(self.warmup_seconds, "warmup-seconds")?,
            measure: seconds(self.seconds, "seconds")?,
            concurrency: self.concurrency.clone(),
            logins: self.logins,
        };
        ensure!(!plan.measure.is_zero(), "--seconds must be more than 0");
        ensure!(
            !plan.concurrency.is_empty() && plan.concurrency.iter().all(|c| (1..=1000).contains(c)),
            "--concurrency takes values from 1 to 1000"
        );
        ensure!(plan.logins >= 1, "--logins must be at least 1");
        // The seeded access token has to outlive every cell: per concurrency, `/healthz` and
        // 2 paths × 2 queries.
        let cells = 5 * plan.concurrency.len() as u32;
        let total = (plan.warmup + plan.measure) * cells;
        ensure!(
            total < Duration::from_secs(stack::TOKEN_TTL_SECS as u64 - 600),
            "the planned run ({} s) would outlive the access token; shorten --seconds",
            total.as_secs()
        );
        Ok(plan)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let plan = Args::parse().plan()?;
    let load_before = report::load_average();
    // The test kit panics on set-up failures; running it in a task turns a panic into an
    // error, so the database is dropped whatever happens after it was created.
    let database = tokio::spawn(TestDatabase::create()).await.context(
        "cannot create a database on PostgreSQL (KEYNET_TEST_POSTGRES names the server)",
    )?;
    let url = database.url.clone();
    let outcome = tokio::spawn(async move {
        let figures = run::run(&plan, url).await?;
        anyhow::Ok((plan, figures))
    })
    .await;
    database.drop_database().await;
    let (plan, figures) = outcome.context("the benchmark panicked")??;
    print!("{}", report::render(&plan, &figures, &load_before));
    Ok(())
}
