//! The Markdown report of the scan run: the image, each layer's throughput for both tools,
//! the whole image, what the scan found, and every round.

use crate::image::{GZIP_LEVEL, Layer};
use crate::machine::{Machine, load_average, percentile, sorted};
use crate::run::{Figures, Plan};
use keynet_scan::Ecosystem;
use std::collections::BTreeMap;
use std::fmt::{Result as FmtResult, Write};
use std::process::Command;
use std::time::Duration;

/// The target: the scan takes at most this many times the floor's time.
const TARGET_RATIO: f64 = 1.5;

pub fn render(plan: &Plan, machine: &Machine, layers: &[Layer], figures: &Figures) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, machine, layers, figures);
    out
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    machine: &Machine,
    layers: &[Layer],
    figures: &Figures,
) -> FmtResult {
    machine.write_heading(out, "Scan")?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {}; after: {}",
        machine.load_average,
        load_average()
    )?;
    writeln!(
        out,
        "- image: {} layers of this machine's trees, written by the bench: GNU tar (names sorted) through `gzip {GZIP_LEVEL}` ({})",
        layers.len(),
        first_line("gzip")
    )?;
    writeln!(
        out,
        "- Keynet: `keynet_scan::scan_layer` (default limits) on the layer file, in process; floor: `sh -c 'gzip -dc LAYER | tar -t > /dev/null'` ({}); inflate alone: the scanner's decompressor (flate2 on zlib-rs, same buffers) into nothing, in process",
        first_line("tar")
    )?;
    writeln!(
        out,
        "- the layers in the page cache; the three read each layer one after the other, in an order that turns every round; median of {} rounds",
        plan.rounds
    )?;
    writeln!(
        out,
        "- MB/s: compressed bytes (10^6) per second of wall time\n"
    )?;
    write_layers(out, layers, figures)?;
    write_image(out, layers, figures)?;
    write_rounds(out, plan, layers, figures)
}

/// One line of the throughput table.
struct Row {
    name: String,
    trees: String,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    entries: usize,
    keynet_s: f64,
    inflate_s: f64,
    floor_s: f64,
}

fn write_layers(out: &mut String, layers: &[Layer], figures: &Figures) -> FmtResult {
    writeln!(
        out,
        "| layer | trees | gzip MB | tar MB | entries | Keynet s | Keynet MB/s | gzip \\| tar s | gzip \\| tar MB/s | Keynet ÷ floor | ≤ {TARGET_RATIO}× | inflate alone s | Keynet ÷ inflate |"
    )?;
    writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|")?;
    for (layer, times) in layers.iter().zip(&figures.layers) {
        write_row(
            out,
            &Row {
                name: format!("`{}`", layer.name),
                trees: layer.trees.join(" "),
                compressed_bytes: layer.compressed_bytes,
                uncompressed_bytes: layer.uncompressed_bytes,
                entries: times.entries,
                keynet_s: median(&times.keynet),
                inflate_s: median(&times.inflate),
                floor_s: median(&times.floor),
            },
        )?;
    }
    write_row(
        out,
        &Row {
            name: "**image**".into(),
            trees: "all layers, each round's sum".into(),
            compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
            uncompressed_bytes: layers.iter().map(|l| l.uncompressed_bytes).sum(),
            entries: figures.layers.iter().map(|t| t.entries).sum(),
            keynet_s: median(&round_totals(figures, |t| &t.keynet)),
            inflate_s: median(&round_totals(figures, |t| &t.inflate)),
            floor_s: median(&round_totals(figures, |t| &t.floor)),
        },
    )?;
    writeln!(out)
}

fn write_row(out: &mut String, row: &Row) -> FmtResult {
    let mb = row.compressed_bytes as f64 / 1e6;
    let ratio = row.keynet_s / row.floor_s;
    writeln!(
        out,
        "| {} | {} | {mb:.1} | {:.1} | {} | {:.2} | {:.1} | {:.2} | {:.1} | {ratio:.2} | {} | {:.2} | {:.2} |",
        row.name,
        row.trees,
        row.uncompressed_bytes as f64 / 1e6,
        row.entries,
        row.keynet_s,
        mb / row.keynet_s,
        row.floor_s,
        mb / row.floor_s,
        if ratio <= TARGET_RATIO {
            "yes"
        } else {
            "**no**"
        },
        row.inflate_s,
        row.keynet_s / row.inflate_s,
    )
}

fn write_image(out: &mut String, layers: &[Layer], figures: &Figures) -> FmtResult {
    let compressed_mb = layers.iter().map(|l| l.compressed_bytes).sum::<u64>() as f64 / 1e6;
    let assemble = median(&figures.assemble);
    let whole = median(
        &round_totals(figures, |t| &t.keynet)
            .iter()
            .zip(&figures.assemble)
            .map(|(scan, assemble)| *scan + *assemble)
            .collect::<Vec<_>>(),
    );
    writeln!(out, "##### The whole scan\n")?;
    writeln!(
        out,
        "- layers merged into the image (whiteouts, final owners of paths) and rendered as CycloneDX 1.5 ({} KB) and SARIF 2.1.0 ({} KB): {:.3} s (median)",
        figures.cyclonedx_bytes / 1000,
        figures.sarif_bytes / 1000,
        assemble
    )?;
    writeln!(
        out,
        "- layers, merge and reports: {whole:.2} s, {:.1} MB/s of compressed layers",
        compressed_mb / whole
    )?;
    let image = &figures.image;
    let os = image.os.as_ref().map_or("none".to_owned(), |os| {
        format!("{} {}", os.id, os.version_id.as_deref().unwrap_or("?"))
    });
    let mut packages: BTreeMap<Ecosystem, usize> = BTreeMap::new();
    for package in &image.packages {
        *packages.entry(package.ecosystem).or_default() += 1;
    }
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &image.findings {
        *rules.entry(finding.rule.as_str()).or_default() += 1;
    }
    writeln!(
        out,
        "- found: OS {os}; packages {}; findings {} ({})\n",
        counts(packages.iter().map(|(e, n)| (format!("{e:?}"), *n))),
        image.findings.len(),
        counts(rules.iter().map(|(rule, n)| (format!("`{rule}`"), *n)))
    )
}

fn write_rounds(out: &mut String, plan: &Plan, layers: &[Layer], figures: &Figures) -> FmtResult {
    writeln!(
        out,
        "##### Every round (seconds: Keynet / inflate alone / gzip | tar)\n"
    )?;
    write!(out, "| round |")?;
    for layer in layers {
        write!(out, " `{}` |", layer.name)?;
    }
    writeln!(out, " merge and reports |")?;
    writeln!(out, "|--:|{}--:|", "--:|".repeat(layers.len()))?;
    for round in 0..plan.rounds {
        write!(out, "| {} |", round + 1)?;
        for times in &figures.layers {
            write!(
                out,
                " {:.2} / {:.2} / {:.2} |",
                times.keynet[round].as_secs_f64(),
                times.inflate[round].as_secs_f64(),
                times.floor[round].as_secs_f64()
            )?;
        }
        writeln!(out, " {:.3} |", figures.assemble[round].as_secs_f64())?;
    }
    Ok(())
}

/// Each round's time summed over the layers.
fn round_totals(
    figures: &Figures,
    tool: impl Fn(&crate::run::LayerTimes) -> &Vec<Duration>,
) -> Vec<Duration> {
    let rounds = figures.assemble.len();
    (0..rounds)
        .map(|round| figures.layers.iter().map(|t| tool(t)[round]).sum())
        .collect()
}

fn median(times: &[Duration]) -> f64 {
    percentile(
        &sorted(&times.iter().map(Duration::as_secs_f64).collect::<Vec<_>>()),
        50.0,
    )
}

fn counts(items: impl Iterator<Item = (String, usize)>) -> String {
    let list: Vec<String> = items.map(|(name, n)| format!("{n} {name}")).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// `gzip 1.12`, `tar (GNU tar) 1.34`: the first line of `--version`.
fn first_line(program: &str) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| format!("{program}, version unknown"))
}
