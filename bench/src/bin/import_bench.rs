//! `import_bench`: how long `keynet_datasets::import_zip` takes on generated YOLO datasets
//! and how much memory it needs, against `unzip` of the same zip in the same run; and,
//! optionally, the whole platform path (upload, import, content-addressed storage).
//!
//! Both `unzip` and the import run as child processes under `/usr/bin/time`, so each peak
//! RSS belongs to one tool alone. The import child is this binary, re-executed with the
//! hidden `import-engine` subcommand. The Markdown report goes to stdout, progress to stderr.

#[path = "../import/child.rs"]
mod child;
#[path = "../import/engine.rs"]
mod engine;
#[path = "../import/generate.rs"]
mod generate;
#[path = "../import/platform.rs"]
mod platform;
#[path = "../import/report.rs"]
mod report;
#[path = "../import/run.rs"]
mod run;

use anyhow::{Result, ensure};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The dataset size the issue's target is stated for.
const ISSUE_SIZE: usize = 2000;

/// Times the dataset import against `unzip` of the same generated zip, and compares the
/// peak memory of both, at several dataset sizes.
#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs `import_zip` once and prints a one-line summary: the measured child process.
    #[command(hide = true)]
    ImportEngine {
        zip: PathBuf,
        work_dir: PathBuf,
        /// classification, detection, segmentation or pose.
        task: String,
    },
    /// Starts and stops at once: the memory floor of the import child, measured by the run.
    #[command(hide = true)]
    Noop,
    /// Writes one generated dataset zip and stops: to profile the import outside the run.
    #[command(hide = true)]
    Generate { images: usize, zip: PathBuf },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Dataset sizes (images), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "500,2000,4000")]
    sizes: Vec<usize>,
    /// Runs of each measurement; the report gives their median.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Sizes at which the whole platform path is also timed, comma-separated, among
    /// --sizes [default: 2000, the issue's size, if measured, else the largest size].
    #[arg(long, value_delimiter = ',')]
    platform_sizes: Option<Vec<usize>>,
    /// Skips the whole-platform measurement.
    #[arg(long)]
    no_platform: bool,
    /// Where the generated zips and the unpacked files go (default: the system temp folder).
    #[arg(long)]
    temp_dir: Option<PathBuf>,
}

impl RunArgs {
    fn plan(&self) -> Result<run::Plan> {
        ensure!(
            !self.sizes.is_empty() && self.sizes.iter().all(|n| (1..=100_000).contains(n)),
            "--sizes takes image counts from 1 to 100000"
        );
        ensure!((1..=20).contains(&self.repeats), "--repeats takes 1 to 20");
        let mut sizes = self.sizes.clone();
        sizes.sort_unstable();
        sizes.dedup();
        let platform_sizes = match (&self.platform_sizes, sizes.last()) {
            _ if self.no_platform => Vec::new(),
            (Some(chosen), _) => chosen.clone(),
            (None, _) if sizes.contains(&ISSUE_SIZE) => vec![ISSUE_SIZE],
            (None, largest) => largest.into_iter().copied().collect(),
        };
        ensure!(
            platform_sizes.iter().all(|n| sizes.contains(n)),
            "--platform-sizes must be among --sizes (the same zip is used)"
        );
        Ok(run::Plan {
            sizes,
            repeats: self.repeats,
            platform_sizes,
            temp_dir: self.temp_dir.clone().unwrap_or_else(std::env::temp_dir),
        })
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::ImportEngine {
            zip,
            work_dir,
            task,
        }) => engine::import_once(&zip, &work_dir, &task),
        Some(Command::Noop) => Ok(()),
        Some(Command::Generate { images, zip }) => {
            let dataset = generate::write_yolo_zip(&generate::ImagePool::new()?, images, &zip)?;
            eprintln!("{dataset:?}");
            Ok(())
        }
        None => {
            let plan = cli.run.plan()?;
            let environment = report::Environment::capture();
            let figures = run::run(&plan)?;
            print!("{}", report::render(&plan, &environment, &figures));
            Ok(())
        }
    }
}
