//! The measurements: closed-loop HTTP load (N clients, each sending the image again as soon
//! as the last answer arrived) on an endpoint, and the same work as one request, done in
//! process one image after the other. Latencies go into HDR histograms (microseconds).

use crate::machine::{percentile, sorted};
use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use hdrhistogram::Histogram;
use keynet_serving::OnnxModel;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

/// One measured cell.
pub struct Cell {
    pub images_per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

fn histogram() -> Result<Histogram<u64>> {
    // 1 µs to 10 min, 3 significant digits.
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

fn cell(latencies: &Histogram<u64>, elapsed: Duration) -> Cell {
    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    Cell {
        images_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
    }
}

/// An endpoint that takes an image as the raw body and answers JSON.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    /// The deployment key (Keynet); none for the peer.
    pub key: Option<String>,
}

impl Endpoint {
    async fn post(&self, client: &reqwest::Client, image: Bytes) -> Result<Bytes> {
        let mut request = client
            .post(&self.url)
            .header("content-type", "image/jpeg")
            .body(image);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        ensure!(
            status.is_success(),
            "{} answered {status}: {}",
            self.url,
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }

    /// One request's JSON answer.
    pub async fn answer(&self, client: &reqwest::Client, image: &Bytes) -> Result<Value> {
        let body = self.post(client, image.clone()).await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

/// An HTTP client for loopback: no proxy from the environment, a connection per client kept.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1024)
        .build()?)
}

/// `concurrency` clients on `endpoint` for `seconds`, after one unmeasured request each
/// (which opens its connection and warms the server).
pub async fn closed_loop(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    image: &Bytes,
    concurrency: usize,
    seconds: f64,
) -> Result<Cell> {
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            let (image, barrier) = (image.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let warm = endpoint.post(&client, image.clone()).await;
                barrier.wait().await;
                warm?;
                let mut latencies = histogram()?;
                let deadline = Instant::now() + Duration::from_secs_f64(seconds);
                while Instant::now() < deadline {
                    let begin = Instant::now();
                    endpoint.post(&client, image.clone()).await?;
                    latencies.record(micros(begin.elapsed()))?;
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = histogram()?;
    for client in clients {
        latencies.add(client.await.context("a client crashed")??)?;
    }
    Ok(cell(&latencies, started.elapsed()))
}

/// What one endpoint request does besides HTTP, authentication and metering, in process,
/// one image after the other for `seconds`: decode, resize and normalise the image
/// (`prepare`), run the model on it alone, take the top 5. Timed as `runtime_bench` times
/// its in-process loops.
pub fn in_process(model: &OnnxModel, image: &[u8], seconds: f64) -> Result<Cell> {
    let once = || -> Result<()> {
        let input = model.metadata().prepare(image)?.input;
        let rows = model.run(&[input])?;
        let probabilities = rows.first().context("no output")?;
        ensure!(!model.metadata().top_k(probabilities, 5).is_empty());
        Ok(())
    };
    once()?;
    let (mut latencies, started) = (Vec::new(), Instant::now());
    while started.elapsed().as_secs_f64() < seconds {
        let begin = Instant::now();
        once()?;
        latencies.push(begin.elapsed().as_secs_f64() * 1000.0);
    }
    let elapsed = started.elapsed();
    let latencies = sorted(&latencies);
    Ok(Cell {
        images_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        p99_ms: percentile(&latencies, 99.0),
    })
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}
