//! `queue_bench`: the task queue's throughput (no-op tasks/s at 4 workers) and its pickup
//! latency (enqueue commit → handler start, the LISTEN/NOTIFY wake-up path) on PostgreSQL,
//! side by side with graphile-worker doing the same on the same server (a Node child
//! process, `bench/graphile/bench.mjs`). Each system gets a fresh database, dropped at the
//! end. The Markdown report goes to stdout, progress to stderr.

#[path = "../database.rs"]
mod database;
#[path = "../queue/graphile.rs"]
mod graphile;
#[path = "../queue/keynet.rs"]
mod keynet;
#[path = "../machine.rs"]
mod machine;
#[path = "../queue/report.rs"]
mod report;
#[path = "../queue/run.rs"]
mod run;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use keynet_testkit::pg::{TestDatabase, admin_url};
use std::path::PathBuf;
use std::time::Duration;

/// Measures Keynet's task queue against graphile-worker on the PostgreSQL server at
/// 127.0.0.1:5432 (or KEYNET_TEST_POSTGRES): throughput and enqueue → start latency.
#[derive(Parser, Debug)]
struct Args {
    /// No-op tasks per throughput measurement.
    #[arg(long, default_value_t = 20_000)]
    tasks: usize,
    /// Measured pickup samples per round.
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// Unmeasured pickups before each latency measurement.
    #[arg(long, default_value_t = 20)]
    warmup_samples: usize,
    /// Milliseconds between two enqueues in the latency measurement.
    #[arg(long, default_value_t = 20)]
    spacing_ms: u64,
    /// Workers (concurrent tasks) of each system.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds; each measures both systems, alternating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Measures Keynet alone.
    #[arg(long)]
    no_peer: bool,
    /// The Node.js executable.
    #[arg(long, default_value = "node")]
    node: String,
    /// The folder of the graphile-worker script (with its node_modules).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/graphile"))]
    graphile_dir: PathBuf,
}

impl Args {
    fn plan(&self) -> Result<run::Plan> {
        ensure!(
            (1..=1_000_000).contains(&self.tasks),
            "--tasks takes 1 to 1000000"
        );
        ensure!(self.samples >= 1, "--samples must be at least 1");
        ensure!(self.spacing_ms >= 1, "--spacing-ms must be at least 1");
        ensure!(
            (1..=64).contains(&self.concurrency),
            "--concurrency takes 1 to 64"
        );
        ensure!((1..=20).contains(&self.rounds), "--rounds takes 1 to 20");
        Ok(run::Plan {
            tasks: self.tasks,
            samples: self.samples,
            warmup_samples: self.warmup_samples,
            spacing: Duration::from_millis(self.spacing_ms),
            concurrency: self.concurrency,
            rounds: self.rounds,
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let plan = args.plan()?;
    let peer = if args.no_peer {
        None
    } else {
        Some(graphile::Peer::locate(&args.node, &args.graphile_dir)?)
    };
    let machine = machine::Machine::capture();
    let postgres = database::postgres_version(&admin_url())
        .await
        .context("cannot reach PostgreSQL (KEYNET_TEST_POSTGRES names the server)")?;
    // The test kit panics on set-up failures; in a task, a panic becomes an error.
    let keynet_db = tokio::spawn(TestDatabase::create())
        .await
        .context("cannot create a database on PostgreSQL")?;
    let graphile_db = match tokio::spawn(TestDatabase::create()).await {
        Ok(database) => database,
        Err(e) => {
            keynet_db.drop_database().await;
            return Err(e).context("cannot create a database on PostgreSQL");
        }
    };
    let (keynet_url, graphile_url) = (keynet_db.url.clone(), graphile_db.url.clone());
    let outcome = tokio::spawn(async move {
        run::run(&plan, &keynet_url, &graphile_url, peer.as_ref())
            .await
            .map(|figures| (plan, peer, figures))
    })
    .await;
    keynet_db.drop_database().await;
    graphile_db.drop_database().await;
    let (plan, peer, figures) = outcome.context("the benchmark panicked")??;
    let context = report::Context {
        machine: &machine,
        postgres: &postgres,
        peer: peer.as_ref(),
    };
    print!("{}", report::render(&plan, &context, &figures));
    Ok(())
}
