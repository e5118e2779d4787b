//! The run: rounds alternating the two systems, each round measuring throughput then pickup
//! latency on Keynet, then the same on graphile-worker.

use crate::graphile::Peer;
use crate::keynet;
use anyhow::{Context, Result};
use keynet_api::platform::{connect_options, migrate};
use sea_orm::Database;
use std::time::Duration;

/// The platform's default pool size (`database_pool_size`).
const POOL_SIZE: u32 = 16;

pub struct Plan {
    pub tasks: usize,
    pub samples: usize,
    pub warmup_samples: usize,
    pub spacing: Duration,
    pub concurrency: usize,
    pub rounds: usize,
}

pub struct Throughput {
    pub tasks: usize,
    pub seconds: f64,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.tasks as f64 / self.seconds
    }
}

#[derive(Default)]
pub struct Latency {
    /// From sending COMMIT to the handler's start, per sample.
    pub samples_ms: Vec<f64>,
    /// The COMMIT's round trip as the enqueuer saw it, per sample: part of `samples_ms`.
    pub commit_ms: Vec<f64>,
    /// Keynet only: the size of the `tasks` heap when the measurement started.
    pub heap_bytes: Option<i64>,
}

#[derive(Default)]
pub struct Side {
    pub throughput: Vec<Throughput>,
    pub latency: Vec<Latency>,
}

pub struct Figures {
    pub keynet: Side,
    /// Empty with --no-peer.
    pub graphile: Side,
}

pub async fn run(
    plan: &Plan,
    keynet_url: &str,
    graphile_url: &str,
    peer: Option<&Peer>,
) -> Result<Figures> {
    let db = Database::connect(connect_options(keynet_url.to_string(), POOL_SIZE))
        .await
        .context("cannot connect to the Keynet database")?;
    migrate(&db).await?;
    let mut figures = Figures {
        keynet: Side::default(),
        graphile: Side::default(),
    };
    for round in 1..=plan.rounds {
        eprintln!("round {round} of {}", plan.rounds);
        figures
            .keynet
            .throughput
            .push(keynet::throughput(&db, plan).await?);
        if let Some(peer) = peer {
            figures
                .graphile
                .throughput
                .push(peer.throughput(graphile_url, plan).await?);
        }
        figures
            .keynet
            .latency
            .push(keynet::latency(&db, plan).await?);
        if let Some(peer) = peer {
            figures
                .graphile
                .latency
                .push(peer.latency(graphile_url, plan).await?);
        }
    }
    db.close().await?;
    Ok(figures)
}
