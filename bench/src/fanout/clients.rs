//! The subscribers: graphql-ws clients (the test kit's), each subscribed to
//! `jobEvents(jobId, afterSeq: 0)`, noting when each event's `seq` reached them.

use anyhow::{Result, bail};
use keynet_testkit::ws;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

const SUBSCRIPTION: &str =
    "subscription($j: ID!) { jobEvents(jobId: $j, afterSeq: 0) { seq kind } }";

/// Connections opened at once: enough to be quick, few enough for the listen backlog.
const CONNECTING_AT_ONCE: usize = 32;

#[derive(Clone, Copy, Default)]
pub struct Arrival {
    pub count: usize,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

/// Arrivals per `seq` (index = seq), shared by every client.
pub struct Tally {
    pub subscribers: usize,
    arrivals: Vec<Mutex<Arrival>>,
    changed: Notify,
    /// Clients whose subscription ended or errored before they were stopped.
    pub failures: AtomicUsize,
    /// Messages that were not a `jobEvents` item with a known `seq`.
    pub unexpected: AtomicUsize,
}

impl Tally {
    pub fn new(subscribers: usize, events: usize) -> Arc<Self> {
        Arc::new(Self {
            subscribers,
            arrivals: (0..=events)
                .map(|_| Mutex::new(Arrival::default()))
                .collect(),
            changed: Notify::new(),
            failures: AtomicUsize::new(0),
            unexpected: AtomicUsize::new(0),
        })
    }

    fn arrive(&self, seq: usize, at: Instant) {
        let Some(slot) = self.arrivals.get(seq) else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let complete = {
            let mut arrival = slot.lock().unwrap_or_else(|e| e.into_inner());
            arrival.count += 1;
            arrival.first.get_or_insert(at);
            arrival.last = Some(at);
            arrival.count >= self.subscribers
        };
        if complete {
            self.changed.notify_one();
        }
    }

    pub fn arrival(&self, seq: usize) -> Arrival {
        self.arrivals
            .get(seq)
            .map(|slot| *slot.lock().unwrap_or_else(|e| e.into_inner()))
            .unwrap_or_default()
    }

    /// Waits until every subscriber received `seq`, or `limit` ran out.
    pub async fn wait_for_all(&self, seq: usize, limit: Duration) -> Arrival {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrival = self.arrival(seq);
            if arrival.count >= self.subscribers {
                return arrival;
            }
            if tokio::time::timeout_at(deadline, self.changed.notified())
                .await
                .is_err()
            {
                return self.arrival(seq);
            }
        }
    }
}

pub struct Clients {
    tasks: JoinSet<()>,
}

impl Clients {
    /// Connects and subscribes `tally.subscribers` clients; returns once each has sent its
    /// `subscribe` (the server may still be setting the subscription up).
    pub async fn open(base_url: &str, token: &str, job: &str, tally: Arc<Tally>) -> Result<Self> {
        let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let subscribed = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(None::<String>));
        let all_sent = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        for n in 0..tally.subscribers {
            let (gate, subscribed, refused, all_sent, tally) = (
                gate.clone(),
                subscribed.clone(),
                refused.clone(),
                all_sent.clone(),
                tally.clone(),
            );
            let (url, token, job) = (base_url.to_string(), token.to_string(), job.to_string());
            tasks.spawn(async move {
                let socket = {
                    let _permit = gate.acquire().await;
                    ws::connect(&url, json!({"token": token})).await
                };
                let mut socket = match socket {
                    Ok(socket) => socket,
                    Err(reason) => {
                        *refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                        all_sent.notify_one();
                        return;
                    }
                };
                socket
                    .subscribe(&format!("s{n}"), SUBSCRIPTION, json!({"j": job}))
                    .await;
                if subscribed.fetch_add(1, Ordering::SeqCst) + 1 == tally.subscribers {
                    all_sent.notify_one();
                }
                listen(socket, &tally).await;
            });
        }
        loop {
            if let Some(reason) = refused.lock().unwrap_or_else(|e| e.into_inner()).take() {
                tasks.abort_all();
                bail!("a subscriber could not connect: {reason}");
            }
            if subscribed.load(Ordering::SeqCst) == tally.subscribers {
                return Ok(Self { tasks });
            }
            if tokio::time::timeout(Duration::from_secs(60), all_sent.notified())
                .await
                .is_err()
            {
                tasks.abort_all();
                bail!(
                    "only {} of {} subscribers connected within 60 s",
                    subscribed.load(Ordering::SeqCst),
                    tally.subscribers
                );
            }
        }
    }

    pub async fn close(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Notes each event as it arrives, until the subscription or the connection ends.
async fn listen(mut socket: ws::Subscription, tally: &Tally) {
    loop {
        let Some(Some(message)) = socket
            .next_message_within(Duration::from_secs(24 * 3600))
            .await
        else {
            tally.failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let at = Instant::now();
        match message["payload"]["data"]["jobEvents"]["seq"].as_u64() {
            Some(seq) if message["type"] == "next" => tally.arrive(seq as usize, at),
            _ => {
                tally.failures.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}
