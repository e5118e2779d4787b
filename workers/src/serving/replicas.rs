//! The replicas this process holds, by deployment: what the host loads and drops, and what
//! the endpoint in the same process calls without a network hop.

use keynet_domain::ids::{DeploymentId, ReplicaId};
use keynet_serving::{BatchSettings, Batcher, Error, ExportMetadata, OnnxModel};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// One copy of a deployment's model, behind its own batching queue.
pub struct Replica {
    pub id: ReplicaId,
    pub deployment_id: DeploymentId,
    pub slot: i32,
    model: Arc<OnnxModel>,
    batcher: Batcher,
    settings: BatchSettings,
    in_flight: AtomicUsize,
    /// The most requests in flight at once since the host last read it (its heartbeat).
    peak: AtomicUsize,
}

impl Replica {
    pub fn start(
        id: ReplicaId,
        deployment_id: DeploymentId,
        slot: i32,
        model: Arc<OnnxModel>,
        settings: BatchSettings,
    ) -> Self {
        Self {
            id,
            deployment_id,
            slot,
            batcher: Batcher::start(Arc::clone(&model), settings),
            model,
            settings,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// The same model behind a new queue with other settings (requests in flight on this
    /// one finish on it).
    pub fn with_settings(&self, settings: BatchSettings) -> Self {
        Self::start(
            self.id,
            self.deployment_id,
            self.slot,
            Arc::clone(&self.model),
            settings,
        )
    }

    pub fn settings(&self) -> BatchSettings {
        self.settings
    }

    pub fn metadata(&self) -> &ExportMetadata {
        self.model.metadata()
    }

    /// Each input's row (class probabilities or boxes); the inputs join the replica's batches
    /// one by one.
    pub async fn infer(&self, inputs: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>, Error> {
        let now = self.in_flight.fetch_add(inputs.len(), Ordering::Relaxed) + inputs.len();
        self.peak.fetch_max(now, Ordering::Relaxed);
        let count = inputs.len();
        let answers = futures_util::future::join_all(
            inputs.into_iter().map(|input| self.batcher.infer(input)),
        )
        .await;
        self.in_flight.fetch_sub(count, Ordering::Relaxed);
        answers.into_iter().collect()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests waiting for a batch now.
    pub fn queued(&self) -> usize {
        self.batcher.stats().queued()
    }

    /// Batches run so far, by size (index 0 unused).
    pub fn batches_by_size(&self) -> Vec<u64> {
        self.batcher.stats().batches_by_size()
    }

    /// The load to report: the peak since the last report, which then starts again from
    /// what is in flight now.
    pub fn take_peak(&self) -> usize {
        self.peak.swap(self.in_flight(), Ordering::Relaxed)
    }
}

/// This process's replicas. The host changes it; endpoints read it.
#[derive(Default)]
pub struct LocalReplicas {
    by_deployment: RwLock<HashMap<DeploymentId, Vec<Arc<Replica>>>>,
    /// Signalled when a replica is added, for requests waiting for a cold start.
    added: Notify,
    /// Signalled by an endpoint that wants a deployment's replicas started now.
    wanted: Notify,
}

impl LocalReplicas {
    /// The replica of `deployment` with the fewest requests in flight.
    pub fn pick(&self, deployment: DeploymentId) -> Option<Arc<Replica>> {
        let map = self.by_deployment.read().unwrap_or_else(|e| e.into_inner());
        map.get(&deployment)?
            .iter()
            .min_by_key(|replica| replica.in_flight())
            .cloned()
    }

    pub fn of(&self, deployment: DeploymentId) -> Vec<Arc<Replica>> {
        let map = self.by_deployment.read().unwrap_or_else(|e| e.into_inner());
        map.get(&deployment).cloned().unwrap_or_default()
    }

    /// Every replica held, for the host's reconciliation and the metrics.
    pub fn all(&self) -> Vec<Arc<Replica>> {
        let map = self.by_deployment.read().unwrap_or_else(|e| e.into_inner());
        map.values().flatten().cloned().collect()
    }

    /// Adds `replica`, replacing one with the same id.
    pub fn put(&self, replica: Arc<Replica>) {
        {
            let mut map = self
                .by_deployment
                .write()
                .unwrap_or_else(|e| e.into_inner());
            let list = map.entry(replica.deployment_id).or_default();
            list.retain(|held| held.id != replica.id);
            list.push(replica);
        }
        self.added.notify_waiters();
    }

    pub fn remove(&self, replica: ReplicaId) -> Option<Arc<Replica>> {
        let mut map = self
            .by_deployment
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut removed = None;
        map.retain(|_, list| {
            if let Some(index) = list.iter().position(|held| held.id == replica) {
                removed = Some(list.remove(index));
            }
            !list.is_empty()
        });
        removed
    }

    /// Completes when a replica is added anywhere. Create it before looking for a replica
    /// (and `enable` it), so one added in between is not missed.
    pub fn added(&self) -> Notified<'_> {
        self.added.notified()
    }

    /// Asks the host to reconcile now (a request came for a deployment without replicas).
    pub fn want_now(&self) {
        self.wanted.notify_one();
    }

    pub(crate) async fn wanted(&self) {
        self.wanted.notified().await;
    }
}
