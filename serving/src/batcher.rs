//! Dynamic batching for one replica: requests queue; the runner takes the first, waits at
//! most the queue delay for more (up to the batch size) when requests are coming in (a lone
//! request after a quiet spell does not wait), runs the model once on all of them
//! on a blocking thread (its convolutions on the replica's own threads), and answers each.
//! While a batch runs the next one gathers, so under load batches fill without waiting.

use crate::model::Runner;
use crate::{Error, OnnxModel};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// At least 1; 1 turns batching off.
    pub max_batch_size: usize,
    /// How long the first request of a batch waits for others, when others are coming.
    pub max_queue_delay: Duration,
    /// Requests waiting beyond this are refused ([`Error::Overloaded`]).
    pub max_queued: usize,
    /// The threads a batch runs on, at least 1: what the replica's resources grant it, so
    /// one replica does not take every core of a host it shares.
    pub threads: usize,
}

/// What the runner has done: for the deployment's metrics.
#[derive(Debug, Default)]
pub struct BatchStats {
    queued: AtomicUsize,
    /// `batches_by_size[n]`: batches of `n` requests run so far.
    batches_by_size: Vec<AtomicU64>,
}

impl BatchStats {
    fn new(max_batch_size: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            batches_by_size: (0..=max_batch_size).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Requests waiting for a batch now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Batches run so far, by size (index 0 unused).
    pub fn batches_by_size(&self) -> Vec<u64> {
        self.batches_by_size
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }
}

struct Pending {
    input: Vec<f32>,
    answer: oneshot::Sender<Result<Vec<f32>, Error>>,
    arrived: Instant,
}

/// A replica's queue; dropping it stops the runner once the queue is drained.
pub struct Batcher {
    queue: mpsc::Sender<Pending>,
    input_len: usize,
    max_queued: usize,
    stats: Arc<BatchStats>,
}

impl Batcher {
    /// Starts the runner on the current Tokio runtime.
    pub fn start(model: Arc<OnnxModel>, settings: BatchSettings) -> Self {
        let settings = BatchSettings {
            max_batch_size: settings.max_batch_size.max(1),
            max_queued: settings.max_queued.max(1),
            threads: settings.threads.max(1),
            ..settings
        };
        // The channel's own bound is only a backstop: `max_queued` is counted in `stats`.
        let (queue, requests) = mpsc::channel(settings.max_queued);
        let stats = Arc::new(BatchStats::new(settings.max_batch_size));
        let input_len = model.metadata().input_len();
        let runner = Arc::new(model.runner(settings.threads));
        tokio::spawn(run_batches(
            model,
            runner,
            requests,
            settings,
            Arc::clone(&stats),
        ));
        Self {
            queue,
            input_len,
            max_queued: settings.max_queued,
            stats,
        }
    }

    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }

    /// Queues one input and waits for its row (class probabilities or boxes).
    pub async fn infer(&self, input: Vec<f32>) -> Result<Vec<f32>, Error> {
        if input.len() != self.input_len {
            return Err(Error::Input(format!(
                "the input has {} values; the model takes {}",
                input.len(),
                self.input_len
            )));
        }
        let queued = self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if queued >= self.max_queued {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::Overloaded { queued });
        }
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            input,
            answer,
            arrived: Instant::now(),
        };
        if self.queue.try_send(pending).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::Stopped);
        }
        answered.await.unwrap_or(Err(Error::Stopped))
    }
}

async fn run_batches(
    model: Arc<OnnxModel>,
    runner: Arc<Option<Runner>>,
    mut requests: mpsc::Receiver<Pending>,
    settings: BatchSettings,
    stats: Arc<BatchStats>,
) {
    let mut last_arrival: Option<Instant> = None;
    while let Some(first) = requests.recv().await {
        // Only a request that came in traffic (another arrived within the queue delay
        // before it) waits for company; after a quiet spell it runs at once with whatever
        // is queued already, since waiting would only add the delay to a lone caller's time.
        let in_traffic = last_arrival
            .is_some_and(|last| first.arrived.duration_since(last) <= settings.max_queue_delay);
        let deadline = if in_traffic {
            Instant::now() + settings.max_queue_delay
        } else {
            Instant::now()
        };
        let mut batch = vec![first];
        while batch.len() < settings.max_batch_size {
            match tokio::time::timeout_at(deadline, requests.recv()).await {
                Ok(Some(next)) => batch.push(next),
                Ok(None) | Err(_) => break,
            }
        }
        last_arrival = batch.iter().map(|pending| pending.arrived).max();
        stats.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        // A caller that gave up (its connection closed) costs no model time.
        batch.retain(|pending| !pending.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        stats.batches_by_size[batch.len()].fetch_add(1, Ordering::Relaxed);
        let (inputs, answers): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|pending| (pending.input, pending.answer))
            .unzip();
        let (model, runner) = (Arc::clone(&model), Arc::clone(&runner));
        let outcome =
            tokio::task::spawn_blocking(move || model.run_on(&inputs, runner.as_ref().as_ref()))
                .await;
        let outcome = outcome.unwrap_or_else(|panic| {
            tracing::error!(error = %panic, "the model panicked on a batch");
            Err(Error::Run("the model crashed on this batch".into()))
        });
        match outcome {
            Ok(rows) => {
                for (answer, row) in answers.into_iter().zip(rows) {
                    // The caller may have gone meanwhile; nothing to do then.
                    let _ = answer.send(Ok(row));
                }
            }
            Err(error) => {
                for answer in answers {
                    let _ = answer.send(Err(error.clone()));
                }
            }
        }
    }
}
