//! The Markdown report: the conditions of the run, import against `unzip` per size, the
//! memory verdict across sizes and, if measured, the whole platform path.

use crate::child::first_line_of;
use crate::generate::{CLASSES, HEIGHT, JPEG_QUALITY, MAX_BOXES_PER_IMAGE, POOL_SIZE, WIDTH};
use crate::run::{Figures, Plan, Sample, SizeFigures, median};
use std::fmt::{Result as FmtResult, Write};

/// The target: the import within 2× of `unzip`'s time.
const TARGET_RATIO: f64 = 2.0;
/// Peak-RSS growth from the smallest to the largest size still called flat: the larger of
/// 2 MiB and 10 % of the smallest size's peak (the allocator's noise).
const FLAT_MIN_MIB: f64 = 2.0;
const FLAT_SHARE: f64 = 0.10;

/// What the machine looked like when the run started.
pub struct Environment {
    date: String,
    command: String,
    cpus: usize,
    cpu_model: String,
    memory_gib: f64,
    load_average: String,
    unzip_version: String,
}

impl Environment {
    pub fn capture() -> Self {
        Self {
            date: first_line_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model: proc_field("/proc/cpuinfo", "model name")
                .unwrap_or_else(|| "unknown".into()),
            memory_gib: proc_field("/proc/meminfo", "MemTotal")
                .and_then(|total| total.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0 / 1024.0),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .map(|line| {
                    line.split_whitespace()
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|_| "unknown".into()),
            unzip_version: first_line_of("unzip", &["-v"]),
        }
    }
}

/// The value of the first `name: value` line of a /proc file.
fn proc_field(path: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|line| line.starts_with(name))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (not representative: use --profile production)"
    } else {
        "optimized"
    }
}

fn seconds(samples: &[Sample]) -> Vec<f64> {
    samples.iter().map(|s| s.wall.as_secs_f64()).collect()
}

fn rss_mib(samples: &[Sample]) -> Vec<f64> {
    samples
        .iter()
        .map(|s| s.peak_rss_kib as f64 / 1024.0)
        .collect()
}

fn list(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render(plan: &Plan, environment: &Environment, figures: &Figures) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, environment, figures);
    out
}

fn write_report(out: &mut String, plan: &Plan, env: &Environment, figures: &Figures) -> FmtResult {
    write_conditions(out, plan, env, figures)?;
    write_comparison(out, &figures.sizes)?;
    write_samples(out, &figures.sizes)?;
    write_memory_verdict(out, figures)?;
    write_platform(out, &figures.sizes)
}

fn write_conditions(
    out: &mut String,
    plan: &Plan,
    env: &Environment,
    figures: &Figures,
) -> FmtResult {
    let image_kb = figures.sizes.last().map_or(0.0, |size| {
        size.dataset.image_bytes as f64 / size.dataset.images.max(1) as f64 / 1e3
    });
    writeln!(out, "### Run of {}\n", env.date)?;
    writeln!(out, "- command: `{}`", env.command)?;
    writeln!(
        out,
        "- machine: {} CPUs ({}), {:.1} GiB RAM, {} build",
        env.cpus,
        env.cpu_model,
        env.memory_gib,
        build_profile()
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {}",
        env.load_average
    )?;
    writeln!(
        out,
        "- datasets: YOLO detection (`data.yaml`, `images/train|val`, `labels/train|val`), {WIDTH}×{HEIGHT} JPEG quality {JPEG_QUALITY}, {image_kb:.0} KB per image on average ({POOL_SIZE} distinct pictures, every file unique), 1–{MAX_BOXES_PER_IMAGE} boxes of {} classes per image, 1 image in 5 in val, deflate",
        CLASSES.len()
    )?;
    writeln!(
        out,
        "- unzip: `unzip -q <zip> -d <fresh folder>` ({}); import: `keynet_datasets::import_zip` (detection, default split and limits) in a child process, this binary re-run as `import-engine`",
        env.unzip_version
    )?;
    writeln!(
        out,
        "- each figure: median of {} runs, the tools alternating; time = wall time of the child process; peak RSS = its maximum resident set size (`/usr/bin/time -f %M`); every run writes into a fresh folder, deleted and `sync`ed before the next run",
        plan.repeats
    )?;
    writeln!(
        out,
        "- whole run, generation included: {:.0} s\n",
        figures.elapsed.as_secs_f64()
    )
}

fn write_comparison(out: &mut String, sizes: &[SizeFigures]) -> FmtResult {
    writeln!(out, "#### Import vs unzip\n")?;
    writeln!(
        out,
        "| images | zip MB | unzip s | import s | import / unzip | ≤ {TARGET_RATIO:.1} | import images/s | unzip images/s | unzip peak RSS MiB | import peak RSS MiB |"
    )?;
    writeln!(out, "|--:|--:|--:|--:|--:|:-:|--:|--:|--:|--:|")?;
    for size in sizes {
        let images = size.dataset.images as f64;
        let unzip_s = median(seconds(&size.unzip));
        let import_s = median(seconds(&size.import));
        let ratio = import_s / unzip_s;
        let verdict = if ratio <= TARGET_RATIO {
            "yes"
        } else {
            "**no**"
        };
        writeln!(
            out,
            "| {} | {:.0} | {unzip_s:.2} | {import_s:.2} | {ratio:.2} | {verdict} | {:.0} | {:.0} | {:.1} | {:.1} |",
            size.dataset.images,
            size.dataset.zip_bytes as f64 / 1e6,
            images / import_s,
            images / unzip_s,
            median(rss_mib(&size.unzip)),
            median(rss_mib(&size.import)),
        )?;
    }
    writeln!(out)
}

fn write_samples(out: &mut String, sizes: &[SizeFigures]) -> FmtResult {
    writeln!(
        out,
        "Every run, in order (the medians above come from these):\n"
    )?;
    writeln!(
        out,
        "| images | unzip s | import s | unzip peak RSS MiB | import peak RSS MiB |"
    )?;
    writeln!(out, "|--:|:-:|:-:|:-:|:-:|")?;
    for size in sizes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            size.dataset.images,
            list(&seconds(&size.unzip), 2),
            list(&seconds(&size.import), 2),
            list(&rss_mib(&size.unzip), 1),
            list(&rss_mib(&size.import), 1),
        )?;
    }
    writeln!(out)
}

fn write_memory_verdict(out: &mut String, figures: &Figures) -> FmtResult {
    let (Some(small), Some(large)) = (figures.sizes.first(), figures.sizes.last()) else {
        return Ok(());
    };
    writeln!(out, "#### Peak memory across sizes\n")?;
    if small.dataset.images == large.dataset.images {
        writeln!(out, "- one size only: run several `--sizes` to compare")?;
    } else {
        write_growth(out, "import", small, large, |size| &size.import)?;
        write_growth(out, "unzip", small, large, |size| &size.unzip)?;
    }
    writeln!(
        out,
        "- floor under the import's figure: this binary started with nothing to do peaks at {:.1} MiB (the code pages of a binary that links the whole platform, and Rust's runtime)",
        figures.engine_floor.peak_rss_kib as f64 / 1024.0
    )?;
    writeln!(
        out,
        "\n(flat: growth at most {FLAT_MIN_MIB:.0} MiB or {:.0} % of the smallest size's peak, whichever is larger)\n",
        FLAT_SHARE * 100.0
    )
}

/// One tool's peak RSS from the smallest to the largest dataset, and the verdict.
fn write_growth(
    out: &mut String,
    tool: &str,
    small: &SizeFigures,
    large: &SizeFigures,
    samples_of: impl Fn(&SizeFigures) -> &[Sample],
) -> FmtResult {
    let from = median(rss_mib(samples_of(small)));
    let to = median(rss_mib(samples_of(large)));
    let growth = to - from;
    let added_images = (large.dataset.images - small.dataset.images) as f64;
    let added_data_mb = large
        .dataset
        .zip_bytes
        .saturating_sub(small.dataset.zip_bytes) as f64
        / 1e6;
    let per_image_kib = growth * 1024.0 / added_images;
    // Growth per image set against the bytes per image tells memory that follows the
    // number of files (metadata) from memory that follows the data.
    let image_kb = large.dataset.image_bytes as f64 / large.dataset.images as f64 / 1e3;
    let verdict = if growth <= FLAT_MIN_MIB.max(FLAT_SHARE * from) {
        "flat".to_owned()
    } else {
        format!("grows with the number of images (not with their {image_kb:.0} KB of data each)")
    };
    writeln!(
        out,
        "- {tool}: {from:.1} MiB at {} images, {to:.1} MiB at {} images: {growth:+.1} MiB while the zip grew by {added_data_mb:.0} MB, {per_image_kib:+.2} KiB per added image: **{verdict}**",
        small.dataset.images, large.dataset.images,
    )
}

fn write_platform(out: &mut String, sizes: &[SizeFigures]) -> FmtResult {
    let measured: Vec<&SizeFigures> = sizes.iter().filter(|s| !s.platform.is_empty()).collect();
    if measured.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "#### Whole platform path (in process, SQLite, local blob store)\n"
    )?;
    writeln!(
        out,
        "Direct upload (`POST /api/v1/datasets/{{id}}/upload`) of the same zip, then the import task (unpack and check, store every image content-addressed, write the manifest) until the dataset is `READY`; a freshly launched platform per run. Wall time only.\n"
    )?;
    writeln!(
        out,
        "| images | upload s | upload → READY s | runs s | images/s | vs unzip |"
    )?;
    writeln!(out, "|--:|--:|--:|:-:|--:|--:|")?;
    for size in measured {
        let upload = median(
            size.platform
                .iter()
                .map(|r| r.upload.as_secs_f64())
                .collect(),
        );
        let totals: Vec<f64> = size
            .platform
            .iter()
            .map(|r| r.total.as_secs_f64())
            .collect();
        let total = median(totals.clone());
        let unzip_s = median(seconds(&size.unzip));
        writeln!(
            out,
            "| {} | {upload:.2} | {total:.2} | {} | {:.0} | {:.1}× |",
            size.dataset.images,
            list(&totals, 2),
            size.dataset.images as f64 / total,
            total / unzip_s
        )?;
    }
    writeln!(out)
}
