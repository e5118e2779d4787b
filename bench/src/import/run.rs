//! One benchmark run: for each size, generate the zip (not timed), then alternate `unzip`
//! and the import, each into a fresh folder that is deleted (and the disks synced) before
//! the next run, so that neither tool finds the other's files or pays for its writeback;
//! then, at the chosen sizes, the whole platform path.

use crate::child::{ChildRun, run_measured, sync_disks};
use crate::engine::{self, EngineSummary};
use crate::generate::{GeneratedDataset, ImagePool, POOL_SIZE, write_yolo_zip};
use crate::platform::{PlatformRun, import_through_platform};
use anyhow::{Context, Result, ensure};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct Plan {
    /// Ascending, without repeats.
    pub sizes: Vec<usize>,
    pub repeats: usize,
    pub platform_sizes: Vec<usize>,
    pub temp_dir: PathBuf,
}

/// One run of a child process.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    pub peak_rss_kib: u64,
}

impl From<ChildRun> for Sample {
    fn from(run: ChildRun) -> Self {
        Self {
            wall: run.wall,
            peak_rss_kib: run.peak_rss_kib,
        }
    }
}

pub struct SizeFigures {
    pub dataset: GeneratedDataset,
    pub unzip: Vec<Sample>,
    pub import: Vec<Sample>,
    /// Empty when the platform path was not measured at this size.
    pub platform: Vec<PlatformRun>,
}

pub struct Figures {
    /// Peak RSS of this binary started with nothing to do: its code pages and runtime,
    /// the part of the import child's peak that is not the import.
    pub engine_floor: Sample,
    pub sizes: Vec<SizeFigures>,
    pub elapsed: Duration,
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub fn run(plan: &Plan) -> Result<Figures> {
    let started = Instant::now();
    // Everything goes under one folder, deleted at the end also when the run fails.
    let root = tempfile::Builder::new()
        .prefix("keynet-import-bench-")
        .tempdir_in(&plan.temp_dir)
        .with_context(|| format!("cannot create a folder in {}", plan.temp_dir.display()))?;
    eprintln!("encoding {POOL_SIZE} distinct 640×480 JPEGs…");
    let pool = ImagePool::new()?;
    let engine_floor = engine_floor()?;
    // Only the platform path needs async; the child-process measurements stay plain.
    let runtime = if plan.platform_sizes.is_empty() {
        None
    } else {
        Some(tokio::runtime::Runtime::new().context("cannot start tokio")?)
    };
    let mut sizes = Vec::new();
    for &images in &plan.sizes {
        sizes.push(measure_size(
            plan,
            &pool,
            root.path(),
            images,
            runtime.as_ref(),
        )?);
    }
    root.close().context("cannot delete the temporary files")?;
    Ok(Figures {
        engine_floor,
        sizes,
        elapsed: started.elapsed(),
    })
}

fn measure_size(
    plan: &Plan,
    pool: &ImagePool,
    root: &Path,
    images: usize,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<SizeFigures> {
    let zip = root.join(format!("yolo-detection-{images}.zip"));
    let generating = Instant::now();
    let dataset = write_yolo_zip(pool, images, &zip)?;
    eprintln!(
        "{images} images: {:.0} MB zip generated in {:.1} s",
        dataset.zip_bytes as f64 / 1e6,
        generating.elapsed().as_secs_f64()
    );
    let (mut unzip, mut import) = (Vec::new(), Vec::new());
    for repeat in 1..=plan.repeats {
        // Alternating the tools spreads any drift of the machine over both.
        unzip.push(unzip_once(&zip, root, &dataset)?);
        import.push(import_once(&zip, root, &dataset)?);
        eprintln!(
            "  run {repeat}/{}: unzip {:.2} s, import {:.2} s",
            plan.repeats,
            unzip[repeat - 1].wall.as_secs_f64(),
            import[repeat - 1].wall.as_secs_f64()
        );
    }
    let mut platform = Vec::new();
    if let Some(runtime) = runtime.filter(|_| plan.platform_sizes.contains(&images)) {
        for repeat in 1..=plan.repeats {
            let run = runtime.block_on(import_through_platform(&zip, images))?;
            eprintln!(
                "  platform run {repeat}/{}: {:.2} s",
                plan.repeats,
                run.total.as_secs_f64()
            );
            platform.push(run);
        }
    }
    std::fs::remove_file(&zip).with_context(|| format!("cannot delete {}", zip.display()))?;
    Ok(SizeFigures {
        dataset,
        unzip,
        import,
        platform,
    })
}

/// A fresh, empty folder under `root` for one run.
fn fresh_folder(root: &Path, prefix: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(root)
        .context("cannot create a folder for a run")
}

fn unzip_once(zip: &Path, root: &Path, dataset: &GeneratedDataset) -> Result<Sample> {
    let out = fresh_folder(root, "unzip-")?;
    sync_disks()?;
    let args = [
        OsStr::new("-q"),
        zip.as_os_str(),
        OsStr::new("-d"),
        out.path().as_os_str(),
    ];
    let run = run_measured(OsStr::new("unzip"), &args)?;
    let files = count_files(out.path())?;
    ensure!(
        files == dataset.files,
        "unzip wrote {files} files, the zip holds {}",
        dataset.files
    );
    out.close().context("cannot delete unzip's files")?;
    Ok(run.into())
}

fn import_once(zip: &Path, root: &Path, dataset: &GeneratedDataset) -> Result<Sample> {
    let work = fresh_folder(root, "import-")?;
    sync_disks()?;
    let this_binary = std::env::current_exe().context("cannot find this binary")?;
    let args = [
        OsStr::new(engine::SUBCOMMAND),
        zip.as_os_str(),
        work.path().as_os_str(),
        OsStr::new("detection"),
    ];
    let run = run_measured(this_binary.as_os_str(), &args)?;
    check_import(&EngineSummary::parse(&run.stdout)?, dataset)?;
    work.close().context("cannot delete the import's files")?;
    Ok(run.into())
}

fn engine_floor() -> Result<Sample> {
    let this_binary = std::env::current_exe().context("cannot find this binary")?;
    Ok(run_measured(this_binary.as_os_str(), &[engine::NOOP_SUBCOMMAND])?.into())
}

/// The import must have taken every image and box, and found no duplicate content.
fn check_import(summary: &EngineSummary, dataset: &GeneratedDataset) -> Result<()> {
    let expected = EngineSummary {
        images: dataset.images,
        annotations: dataset.boxes,
        duplicate_groups: 0,
    };
    ensure!(
        *summary == expected,
        "the import gave {summary:?}, the dataset holds {expected:?}"
    );
    Ok(())
}

fn count_files(folder: &Path) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}
