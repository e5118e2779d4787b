//! onnxruntime's in-process session loop (`onnxruntime_loop.py`) on a model file and raw
//! images: the floor `runtime_bench` and `endpoint_bench` measure Keynet against.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub struct Figures {
    pub images_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
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
