//! The Markdown report of `endpoint_bench`: four tables, each side by side with its peer and
//! the ratio, under the machine and the setup.

use crate::load::Cell;
use crate::machine::Machine;
use crate::session_loop::{Figures, Peer};
use anyhow::{Context, Result};
use std::fmt::Write as _;

/// The cells of one concurrency: both deployments and the peer behind HTTP.
pub struct Row {
    pub concurrency: usize,
    pub off: Cell,
    pub on: Cell,
    pub peer: Cell,
}

pub struct Results {
    pub machine: Machine,
    pub seconds: f64,
    pub replicas: usize,
    /// What Keynet's replicas run the model on.
    pub engine: &'static str,
    pub peer_threads: usize,
    pub image_bytes: usize,
    /// onnxruntime, Pillow and Python versions of the peer.
    pub versions: serde_json::Value,
    /// How the answers compare (the endpoint against in process and against the peer).
    pub agreement: String,
    /// The largest difference between Keynet's engine's and onnxruntime's probabilities for
    /// the prepared image.
    pub floor_difference: f32,
    pub rows: Vec<Row>,
    pub floor: Peer,
    pub in_process: Cell,
}

fn cell(cell: &Cell) -> String {
    format!(
        "{:.1} img/s, p50 {:.1} / p95 {:.1} / p99 {:.1} ms",
        cell.images_per_second, cell.p50_ms, cell.p95_ms, cell.p99_ms
    )
}

fn figures(figures: &Figures) -> String {
    format!(
        "{:.1} img/s, p50 {:.1} / p99 {:.1} ms",
        figures.images_per_second, figures.p50_ms, figures.p99_ms
    )
}

fn threads(peer_threads: usize) -> String {
    match peer_threads {
        0 => "default intra-op threads (one per core)".into(),
        n => format!("{n} intra-op thread(s)"),
    }
}

pub fn render(results: &Results) -> Result<String> {
    let mut out = String::new();
    results.machine.write_heading(&mut out, "endpoint_bench")?;
    let versions = &results.versions;
    writeln!(
        out,
        "- load average at start: {}",
        results.machine.load_average
    )?;
    writeln!(
        out,
        "- {} s per cell, closed loop (each client sends the next request when the last is answered), \
         one unmeasured request per client first; the load generator runs in the bench's process on the same cores",
        results.seconds
    )?;
    writeln!(
        out,
        "- model: ResNet-18-shaped, random weights (`bench/src/runtime/resnet.rs`), ImageNet mean/std; \
         every request sends the same {} KB 640×480 JPEG as the raw body (decode, resize to 224×224 and normalise are in the path)",
        results.image_bytes / 1000
    )?;
    writeln!(
        out,
        "- Keynet: `POST /v1/infer/{{deployment}}` with a deployment key, platform in process on SQLite, replicas on {}, \
         two deployments of the same export, each {} replica(s) always up, queue delay 5 ms: batching off (`maxBatchSize` 1) and on (8)",
        results.engine, results.replicas
    )?;
    writeln!(
        out,
        "- peer: `bench/src/endpoint/onnxruntime_server.py` (`http.server.ThreadingHTTPServer`, Pillow, onnxruntime {} \
         with {}; Pillow {}, Python {})",
        versions["onnxruntime"].as_str().unwrap_or("?"),
        threads(results.peer_threads),
        versions["pillow"].as_str().unwrap_or("?"),
        versions["python"].as_str().unwrap_or("?"),
    )?;
    writeln!(out, "- answers: {}", results.agreement)?;
    writeln!(
        out,
        "- largest difference between {}'s and onnxruntime's probabilities on the prepared image: {:.1e}\n",
        results.engine, results.floor_difference
    )?;

    writeln!(
        out,
        "##### The endpoint vs onnxruntime behind a minimal Python HTTP server\n"
    )?;
    writeln!(
        out,
        "| concurrency | Keynet, batching off | Keynet, batches up to 8 | onnxruntime + http.server | throughput ratio, off / on | p99 ratio, off / on |"
    )?;
    writeln!(out, "| ---: | --- | --- | --- | ---: | ---: |")?;
    for row in &results.rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.2}× / {:.2}× | {:.2}× / {:.2}× |",
            row.concurrency,
            cell(&row.off),
            cell(&row.on),
            cell(&row.peer),
            row.off.images_per_second / row.peer.images_per_second,
            row.on.images_per_second / row.peer.images_per_second,
            row.off.p99_ms / row.peer.p99_ms,
            row.on.p99_ms / row.peer.p99_ms,
        )?;
    }

    let row = |concurrency: usize| {
        results
            .rows
            .iter()
            .find(|row| row.concurrency == concurrency)
            .with_context(|| format!("no cell at concurrency {concurrency}"))
    };
    let batch = |size: usize| {
        results
            .floor
            .by_batch
            .iter()
            .find(|(b, _)| *b == size)
            .map(|(_, figures)| figures)
            .with_context(|| format!("onnxruntime's loop skipped batch {size}"))
    };
    let (at8, one, eight) = (row(8)?, batch(1)?, batch(8)?);
    let floor = one.images_per_second.max(eight.images_per_second);
    writeln!(
        out,
        "\n##### The endpoint vs onnxruntime's in-process `session.run` loop (no HTTP, prepared inputs)\n"
    )?;
    writeln!(
        out,
        "| Keynet endpoint, concurrency 8, batches up to 8 | session.run, batch 1 | session.run, batch 8 | ratio to the faster |"
    )?;
    writeln!(out, "| --- | --- | --- | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {} | {:.2}× |",
        cell(&at8.on),
        figures(one),
        figures(eight),
        at8.on.images_per_second / floor
    )?;

    let at32 = row(32)?;
    writeln!(out, "\n##### Batching on vs off at concurrency 32\n")?;
    writeln!(
        out,
        "| batching off (1) | batches up to 8 | throughput, on / off |"
    )?;
    writeln!(out, "| --- | --- | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {:.2}× |",
        cell(&at32.off),
        cell(&at32.on),
        at32.on.images_per_second / at32.off.images_per_second
    )?;

    let at1 = row(1)?;
    writeln!(
        out,
        "\n##### HTTP, authentication and metering at concurrency 1\n"
    )?;
    writeln!(
        out,
        "| endpoint, batching off | endpoint, batches up to 8 | the same work in process (prepare, run, top 5) | p50 overhead, off / on |"
    )?;
    writeln!(out, "| --- | --- | --- | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {} | {:+.1} ms / {:+.1} ms |",
        cell(&at1.off),
        cell(&at1.on),
        cell(&results.in_process),
        at1.off.p50_ms - results.in_process.p50_ms,
        at1.on.p50_ms - results.in_process.p50_ms,
    )?;
    Ok(out)
}
