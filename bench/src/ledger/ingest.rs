//! One measurement: the writers, released together, each sending its statements one after
//! another on the shared pool, through the ledger or as plain inserts of the same rows.

use crate::workload::Batch;
use anyhow::{Context, Result};
use keynet_billing::entities::usage_events;
use keynet_billing::ledger::{self, Usage};
use keynet_domain::time::now;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `ledger::record`: `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`.
    Dedup,
    /// The same statement without its `ON CONFLICT` clause.
    Plain,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dedup => "dedup",
            Mode::Plain => "plain",
        }
    }
}

pub struct Measured {
    pub seconds: f64,
    /// Facts sent, re-sends included.
    pub offered: usize,
    /// Rows the statements reported as new.
    pub inserted: u64,
    pub statements: usize,
    /// Facts of a writer that another writer's copy had stored first, at least (a statement
    /// that also stored copies first hides as many of its own): the re-sends did race.
    pub beaten: u64,
}

impl Measured {
    pub fn offered_per_second(&self) -> f64 {
        self.offered as f64 / self.seconds
    }

    pub fn inserted_per_second(&self) -> f64 {
        self.inserted as f64 / self.seconds
    }
}

/// The ledger's statement built the same way, without `ON CONFLICT`: a key already stored
/// fails it.
pub async fn insert_plain(db: &impl ConnectionTrait, facts: Vec<Usage>) -> Result<u64> {
    let at = now();
    Ok(
        usage_events::Entity::insert_many(facts.into_iter().map(|f| f.into_row(at)))
            .exec_without_returning(db)
            .await?,
    )
}

#[derive(Default)]
struct Tally {
    inserted: u64,
    beaten: u64,
}

/// Sends every writer's `statements` (indices into `facts`) in `mode`, all writers at once.
pub async fn measure(
    db: &DatabaseConnection,
    facts: &[Usage],
    statements: &[Vec<Batch>],
    mode: Mode,
) -> Result<Measured> {
    let offered = statements.iter().flatten().map(|b| b.facts.len()).sum();
    let count = statements.iter().map(Vec::len).sum();
    let start = Arc::new(Barrier::new(statements.len() + 1));
    // Dropping the set on an error stops the other writers.
    let mut writers = JoinSet::new();
    for batches in statements {
        // Cloned before the clock starts: a caller of the ledger has its facts in hand.
        let batches: Vec<(Vec<Usage>, usize)> = batches
            .iter()
            .map(|b| {
                let owned = b.facts.iter().map(|&i| facts[i].clone()).collect();
                (owned, b.originals)
            })
            .collect();
        let (db, start) = (db.clone(), start.clone());
        writers.spawn(async move {
            start.wait().await;
            let mut tally = Tally::default();
            for (facts, originals) in batches {
                let inserted = match mode {
                    Mode::Dedup => ledger::record(&db, facts).await?,
                    Mode::Plain => insert_plain(&db, facts).await?,
                };
                tally.inserted += inserted;
                tally.beaten += (originals as u64).saturating_sub(inserted);
            }
            anyhow::Ok(tally)
        });
    }
    start.wait().await;
    let clock = Instant::now();
    let mut total = Tally::default();
    while let Some(writer) = writers.join_next().await {
        let tally = writer
            .context("a writer panicked")?
            .with_context(|| format!("a {} writer failed", mode.name()))?;
        total.inserted += tally.inserted;
        total.beaten += tally.beaten;
    }
    Ok(Measured {
        seconds: clock.elapsed().as_secs_f64(),
        offered,
        inserted: total.inserted,
        statements: count,
        beaten: total.beaten,
    })
}
