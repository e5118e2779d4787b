//! A closed-loop load generator: N tasks, each sending its next request as soon as the
//! previous one answered, for a warm-up and then a measured window. Closed loop means the
//! offered load adapts to the server, so req/s is the capacity at that concurrency.

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct LoadPlan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

/// What one cell measured. Latency covers the requests started inside the window;
/// throughput counts those completed inside it.
pub struct Measured {
    pub window: Duration,
    pub completed_in_window: u64,
    /// Every request sent, warm-up included: divides the SQL tally of the whole cell.
    pub sent: u64,
    pub latency: Histogram<u64>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.completed_in_window as f64 / self.window.as_secs_f64()
    }

    pub fn p50_ms(&self) -> f64 {
        nanos_to_ms(self.latency.value_at_quantile(0.50))
    }

    pub fn p99_ms(&self) -> f64 {
        nanos_to_ms(self.latency.value_at_quantile(0.99))
    }
}

pub fn nanos_to_ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// Nanoseconds from 1 ns to 60 s at 3 significant digits: 0.1 % resolution at any latency.
pub fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).context("cannot create a latency histogram")
}

#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

struct ClientTally {
    completed_in_window: u64,
    sent: u64,
    latency: Histogram<u64>,
}

/// Runs `request` from `plan.concurrency` tasks until the window closes; the first failed
/// request stops the cell with its error.
pub async fn closed_loop<F, Fut>(plan: LoadPlan, request: F) -> Result<Measured>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let from = Instant::now() + plan.warmup;
    let window = Window {
        from,
        until: from + plan.measure,
    };
    let clients: Vec<_> = (0..plan.concurrency)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move { client(request, window).await })
        })
        .collect();
    let mut total = Measured {
        window: plan.measure,
        completed_in_window: 0,
        sent: 0,
        latency: latency_histogram()?,
    };
    for client in clients {
        let tally = client.await.context("a load task panicked")??;
        total.completed_in_window += tally.completed_in_window;
        total.sent += tally.sent;
        total
            .latency
            .add(&tally.latency)
            .context("cannot merge latency histograms")?;
    }
    Ok(total)
}

async fn client<F, Fut>(request: F, window: Window) -> Result<ClientTally>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut tally = ClientTally {
        completed_in_window: 0,
        sent: 0,
        latency: latency_histogram()?,
    };
    loop {
        let sent = Instant::now();
        if sent >= window.until {
            return Ok(tally);
        }
        request().await?;
        let done = Instant::now();
        tally.sent += 1;
        if sent >= window.from {
            let nanos = u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX);
            tally.latency.saturating_record(nanos);
            if done <= window.until {
                tally.completed_in_window += 1;
            }
        }
    }
}
