//! The measurements of Keynet's runtime (RTen, through `keynet-serving`): on whole batches
//! and behind its batcher under closed-loop load. onnxruntime's session loop on the same
//! model and images is in `session_loop.rs`.

use crate::machine::{percentile, sorted};
use crate::session_loop::Figures;
use anyhow::Result;
use keynet_serving::{BatchSettings, Batcher, OnnxModel};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
