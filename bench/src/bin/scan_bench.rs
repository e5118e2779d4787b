//! `scan_bench`: how fast the Keynet scanner reads an image's gzip layers, in MB/s of
//! compressed bytes, against the decompression floor `gzip -dc | tar -t` over the same
//! layers in the same run. The image (several hundred MB of gzip layers) is written by the
//! bench from this machine's own trees into a temporary folder, deleted at the end. The
//! Markdown report goes to stdout, progress to stderr.

#[path = "../scan/image.rs"]
mod image;
#[path = "../machine.rs"]
mod machine;
#[path = "../scan/report.rs"]
mod report;
#[path = "../scan/run.rs"]
mod run;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use std::path::PathBuf;

/// Times the Keynet scanner against `gzip -dc | tar -t` on the layers of an image built
/// from this machine's trees.
#[derive(Parser, Debug)]
struct Args {
    /// Rounds over every layer; the report gives their median.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Where the layers are written (default: the system temp folder); they need about
    /// 1 GB.
    #[arg(long)]
    temp_dir: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!((1..=20).contains(&args.rounds), "--rounds takes 1 to 20");
    let plan = run::Plan {
        rounds: args.rounds,
    };
    let machine = machine::Machine::capture();
    let temp_dir = args.temp_dir.unwrap_or_else(std::env::temp_dir);
    // Deleted at the end, also when the run fails.
    let dir = tempfile::Builder::new()
        .prefix("keynet-scan-bench-")
        .tempdir_in(&temp_dir)
        .with_context(|| format!("cannot create a folder in {}", temp_dir.display()))?;
    let layers = image::build(dir.path())?;
    let figures = run::run(&plan, &layers)?;
    print!("{}", report::render(&plan, &machine, &layers, &figures));
    dir.close().context("cannot delete the layers")?;
    Ok(())
}
