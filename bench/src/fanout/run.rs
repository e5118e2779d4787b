//! One backend's measurement: subscribers connect, warm-up events, then events posted one
//! at a time over the HTTP transport, each timed until the last subscriber had it.

use crate::clients::{Clients, Tally};
use crate::setup::{self, Backend, Stage};
use anyhow::{Context, Result, ensure};
use keynet_testkit::pg::TestDatabase;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Plan {
    pub subscribers: usize,
    pub events: usize,
    pub warmup_events: usize,
    /// Pause after an event reached everyone, before the next POST.
    pub gap: Duration,
    pub backends: Vec<Backend>,
}

/// One measured event, in milliseconds from the moment its POST was sent.
pub struct EventTiming {
    pub post_ms: f64,
    pub first_ms: f64,
    pub last_ms: f64,
    /// Subscribers that had it when the wait ended (all of them unless it timed out).
    pub received: usize,
}

pub struct Figures {
    pub backend: Backend,
    pub connect_seconds: f64,
    pub events: Vec<EventTiming>,
    pub failures: usize,
    pub unexpected: usize,
}

/// How long one event may take to reach everyone before the run calls it lost.
const EVENT_LIMIT: Duration = Duration::from_secs(10);
/// The first warm-up event also waits for the subscriptions to be set up on the server.
const FIRST_EVENT_LIMIT: Duration = Duration::from_secs(60);

pub async fn run_backend(plan: &Plan, backend: Backend) -> Result<Figures> {
    let database = match backend {
        // The test kit panics on set-up failures; in a task, a panic becomes an error.
        Backend::Postgres => Some(
            tokio::spawn(TestDatabase::create())
                .await
                .context("cannot create a database on PostgreSQL")?,
        ),
        Backend::Sqlite => None,
    };
    let outcome = {
        let database_ref = database.as_ref().map(|d| TestDatabase {
            name: d.name.clone(),
            url: d.url.clone(),
        });
        let plan = Plan {
            backends: Vec::new(),
            ..*plan
        };
        tokio::spawn(async move {
            let stage = setup::prepare(backend, database_ref.as_ref()).await?;
            let measured = measure(&plan, backend, &stage).await;
            stage.platform.stop().await?;
            measured
        })
        .await
    };
    if let Some(database) = database {
        database.drop_database().await;
    }
    outcome.context("the benchmark panicked")?
}

async fn measure(plan: &Plan, backend: Backend, stage: &Stage) -> Result<Figures> {
    let url = stage.platform.url();
    let total = plan.warmup_events + plan.events;
    let tally = Tally::new(plan.subscribers, total);
    eprintln!(
        "{}: connecting {} subscribers",
        backend.name(),
        plan.subscribers
    );
    let connecting = Instant::now();
    let clients = Clients::open(&url, &stage.access_token, &stage.job_id, tally.clone()).await?;
    let connect_seconds = connecting.elapsed().as_secs_f64();
    let poster = Poster::new(&url, &stage.job_id, &stage.job_token, total);

    eprintln!("{}: {} warm-up events", backend.name(), plan.warmup_events);
    for seq in 1..=plan.warmup_events {
        poster.post(seq).await?;
        let limit = if seq == 1 {
            FIRST_EVENT_LIMIT
        } else {
            EVENT_LIMIT
        };
        let arrival = tally.wait_for_all(seq, limit).await;
        ensure!(
            arrival.count >= plan.subscribers,
            "warm-up event {seq} reached {} of {} subscribers",
            arrival.count,
            plan.subscribers
        );
        tokio::time::sleep(plan.gap).await;
    }

    eprintln!("{}: {} measured events", backend.name(), plan.events);
    let mut events = Vec::with_capacity(plan.events);
    for seq in plan.warmup_events + 1..=total {
        let sent = Instant::now();
        poster.post(seq).await?;
        let posted = sent.elapsed();
        let arrival = tally.wait_for_all(seq, EVENT_LIMIT).await;
        let since = |at: Option<Instant>| {
            at.map_or(f64::NAN, |at| {
                at.saturating_duration_since(sent).as_secs_f64() * 1000.0
            })
        };
        events.push(EventTiming {
            post_ms: posted.as_secs_f64() * 1000.0,
            first_ms: since(arrival.first),
            last_ms: since(arrival.last),
            received: arrival.count,
        });
        tokio::time::sleep(plan.gap).await;
    }
    clients.close().await;
    Ok(Figures {
        backend,
        connect_seconds,
        events,
        // Closing the clients is not a failure; anything counted before it is.
        failures: tally.failures.load(Ordering::Relaxed),
        unexpected: tally.unexpected.load(Ordering::Relaxed),
    })
}

/// The trainer's side: one `progress` event per request, with the job's token.
struct Poster {
    client: reqwest::Client,
    url: String,
    authorization: String,
    total: usize,
}

impl Poster {
    fn new(base_url: &str, job: &str, token: &str, total: usize) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("{base_url}/api/v1/jobs/{job}/events"),
            authorization: format!("Bearer {token}"),
            total,
        }
    }

    async fn post(&self, seq: usize) -> Result<()> {
        let body = json!([{
            "event": "progress",
            "seq": seq,
            "ts": chrono::Utc::now().to_rfc3339(),
            "epoch": seq,
            "total_epochs": self.total,
            "metrics": {"loss": 1.0 / seq as f64},
        }]);
        let response = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, &self.authorization)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        ensure!(
            status.is_success() && answer["stored"] == 1,
            "posting event {seq}: {status} {answer}"
        );
        Ok(())
    }
}
