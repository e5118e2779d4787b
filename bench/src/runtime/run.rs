//! The measurements: Keynet's runtime (tract, through `keynet-serving`) on whole batches and
//! behind its batcher under closed-loop load, and onnxruntime's session loop on the same
//! model and images.

use crate::machine::{percentile, sorted};
use anyhow::{Context, Result, ensure};
use keynet_serving::{BatchSettings, Batcher, OnnxModel};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Figures {
    pub images_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn figures(images: usize, elapsed: Duration, latencies: &[f64]) -> Figures {
    let latencies = sorted(latencies);
    Figures {
        images_per_second: images as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
    }
}

/// `model.run` on one batch of `batch` images, again and again for `seconds`.
pub fn direct(model: &OnnxModel, pool: &[Vec<f32>], batch: usize, seconds: f64) -> Result<Figures> {
    let inputs = pool[..batch].to_vec();
    model.run(&inputs)?;
    let (mut latencies, started) = (Vec::new(), Instant::now());
    while started.elapsed().as_secs_f64() < seconds {
        let begin = Instant::now();
        model.run(&inputs)?;
        latencies.push(begin.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(figures(
        batch * latencies.len(),
        started.elapsed(),
        &latencies,
    ))
}

/// `concurrency` clients, each sending its next image as soon as the last is answered, to a
/// replica's batcher, for `seconds`.
pub async fn closed_loop(
    model: Arc<OnnxModel>,
    pool: &[Vec<f32>],
    concurrency: usize,
    settings: BatchSettings,
    seconds: f64,
) -> Result<Figures> {
    let batcher = Arc::new(Batcher::start(model, settings));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|client| {
            let (batcher, input) = (Arc::clone(&batcher), pool[client % pool.len()].clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let begin = Instant::now();
                    batcher.infer(input.clone()).await?;
                    latencies.push(begin.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, keynet_serving::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    Ok(figures(latencies.len(), started.elapsed(), &latencies))
}

pub struct Peer {
    pub by_batch: Vec<(usize, Figures)>,
    /// onnxruntime's probabilities for the first image.
    pub first: Vec<f32>,
}

/// onnxruntime's in-process loop (`onnxruntime_loop.py`) with `python`.
pub fn onnxruntime(
    python: &Path,
    threads: usize,
    model: &Path,
    images: &Path,
    batches: &[usize],
    seconds: f64,
) -> Result<Peer> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/runtime/onnxruntime_loop.py"
    );
    let batches: Vec<String> = batches.iter().map(usize::to_string).collect();
    let output = Command::new(python)
        .arg(script)
        .arg(model)
        .arg(images)
        .arg(seconds.to_string())
        .arg(batches.join(","))
        .arg(threads.to_string())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    ensure!(
        output.status.success(),
        "onnxruntime's loop failed (is onnxruntime installed for {}?): {}",
        python.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut peer = Peer {
        by_batch: Vec::new(),
        first: Vec::new(),
    };
    for line in String::from_utf8(output.stdout)?.lines() {
        let row: Value = serde_json::from_str(line)?;
        let number = |name: &str| row[name].as_f64().context("a figure is missing");
        let batch = row["batch"].as_u64().context("no batch")? as usize;
        peer.by_batch.push((
            batch,
            Figures {
                images_per_second: number("images_per_second")?,
                p50_ms: number("p50_ms")?,
                p99_ms: number("p99_ms")?,
            },
        ));
        peer.first = serde_json::from_value(row["first"].clone())?;
    }
    Ok(peer)
}
