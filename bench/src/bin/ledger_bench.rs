//! `ledger_bench`: the usage ledger's ingest rate on PostgreSQL, 16 writers recording facts
//! through `keynet_billing::ledger::record` with a share of them re-sent (the database's
//! unique key drops the duplicates), against plain inserts of the same facts into the same
//! table in the same run. A fresh database, dropped at the end; the Markdown report goes to
//! stdout, progress to stderr.

#[path = "../database.rs"]
mod database;
#[path = "../ledger/ingest.rs"]
mod ingest;
#[path = "../machine.rs"]
mod machine;
#[path = "../ledger/report.rs"]
mod report;
#[path = "../ledger/run.rs"]
mod run;
#[path = "../ledger/workload.rs"]
mod workload;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use keynet_testkit::pg::{TestDatabase, admin_url};

/// PostgreSQL takes at most 65,535 bind parameters per statement; the ledger binds 15 per
/// fact (the report shows the count it saw).
const MAX_BATCH: usize = 65_535 / 15;

/// Measures the ledger's ingest (insert with dedup by idempotency key) against plain inserts
/// on the PostgreSQL server at 127.0.0.1:5432 (or KEYNET_TEST_POSTGRES).
#[derive(Parser, Debug)]
struct Args {
    /// Concurrent writers, each on its own pooled connection (the pool has at least 16).
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// Distinct facts per measurement at --batch facts per statement (a multiple of
    /// --writers).
    #[arg(long, default_value_t = 240_000)]
    events: usize,
    /// Facts per statement (one call of `ledger::record`).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Distinct facts per measurement at one fact per statement, measured as well (a
    /// multiple of --writers).
    #[arg(long, default_value_t = 40_000)]
    single_events: usize,
    /// Share of the distinct facts sent a second time in the dedup mode, in percent.
    #[arg(long, default_value_t = 10)]
    resent_percent: usize,
    /// Rounds; each measures both modes at both statement sizes.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

impl Args {
    fn plan(&self) -> Result<run::Plan> {
        ensure!(
            (2..=256).contains(&self.writers),
            "--writers takes 2 to 256"
        );
        ensure!(
            (1..=MAX_BATCH).contains(&self.batch),
            "--batch takes 1 to {MAX_BATCH}"
        );
        ensure!(
            self.resent_percent <= 100,
            "--resent-percent takes 0 to 100"
        );
        ensure!((1..=20).contains(&self.rounds), "--rounds takes 1 to 20");
        for (name, events, batch) in [
            ("--events", self.events, self.batch),
            ("--single-events", self.single_events, 1),
        ] {
            ensure!(
                events % self.writers == 0 && events <= 10_000_000,
                "{name} must be a multiple of --writers, at most 10000000"
            );
            // Writer 0 copies from the last writer's previous statement: two at least.
            ensure!(
                events / self.writers >= 2 * batch,
                "{name} must give each writer at least two statements of {batch}"
            );
        }
        Ok(run::Plan {
            writers: self.writers,
            events: self.events,
            single_events: self.single_events,
            batch: self.batch,
            resent_percent: self.resent_percent,
            rounds: self.rounds,
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let plan = Args::parse().plan()?;
    let machine = machine::Machine::capture();
    let postgres = database::postgres_version(&admin_url())
        .await
        .context("cannot reach PostgreSQL (KEYNET_TEST_POSTGRES names the server)")?;
    // The test kit panics on set-up failures; in a task, a panic becomes an error.
    let database = tokio::spawn(TestDatabase::create())
        .await
        .context("cannot create a database on PostgreSQL")?;
    let url = database.url.clone();
    let outcome = tokio::spawn(async move { run::run(&plan, &url).await.map(|f| (plan, f)) }).await;
    database.drop_database().await;
    let (plan, figures) = outcome.context("the benchmark panicked")??;
    print!("{}", report::render(&plan, &machine, &postgres, &figures));
    Ok(())
}
