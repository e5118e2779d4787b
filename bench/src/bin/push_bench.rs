//! `push_bench`: how fast layers reach the registry by the OCI upload API (`docker push`'s
//! path), against a raw copy of the same bytes into the same blob store. The platform runs
//! in process on a fresh PostgreSQL database (dropped at the end) with the local blob
//! store; the bench plays the trainer author pushing an image. The Markdown report goes to
//! stdout, progress to stderr.

#[path = "../database.rs"]
mod database;
#[path = "../machine.rs"]
mod machine;
#[path = "../push/report.rs"]
mod report;
#[path = "../push/run.rs"]
mod run;
#[path = "../push/setup.rs"]
mod setup;
#[path = "../push/upload.rs"]
mod upload;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use keynet_testkit::pg::admin_url;

const MIB: usize = 1 << 20;

/// Times pushing an image's layers to the registry against writing the same bytes straight
/// into the blob store.
#[derive(Parser, Debug)]
struct Args {
    /// Layer sizes in MiB, comma-separated (the image's layers, pushed in this order).
    #[arg(long, value_delimiter = ',', default_value = "48,32,24,16")]
    layers_mib: Vec<usize>,
    /// Size of each `PATCH` of the chunked push, in MiB.
    #[arg(long, default_value_t = 16)]
    chunk_mib: usize,
    /// Rounds; the report gives their median (a round takes a few seconds, and single
    /// fsyncs make short runs noisy).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        !args.layers_mib.is_empty() && args.layers_mib.iter().all(|n| (1..=4096).contains(n)),
        "--layers-mib takes sizes from 1 to 4096"
    );
    ensure!(
        (1..=1024).contains(&args.chunk_mib),
        "--chunk-mib takes 1 to 1024"
    );
    ensure!((1..=20).contains(&args.rounds), "--rounds takes 1 to 20");
    let plan = run::Plan {
        layers: args.layers_mib.iter().map(|n| n * MIB).collect(),
        chunk: args.chunk_mib * MIB,
        rounds: args.rounds,
    };
    let machine = machine::Machine::capture();
    let postgres = database::postgres_version(&admin_url())
        .await
        .context("cannot reach PostgreSQL (KEYNET_TEST_POSTGRES names the server)")?;
    let figures = run::run(&plan).await?;
    print!("{}", report::render(&plan, &machine, &postgres, &figures));
    Ok(())
}
