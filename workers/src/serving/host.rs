//! A worker host's side of deployments: every reconciliation reads the deployments and
//! every replica row, then settles exports, scales idle deployments to zero, claims the free
//! slots the load asks for, loads their models (in the background), drops what is no longer
//! wanted, beats for its replicas, frees the slots of hosts that stopped beating, and meters
//! its replicas' CPU time. See `keynet_domain::deployments::hosting` for the rules.

use super::replicas::{LocalReplicas, Replica};
use keynet_billing::{ledger, metering};
use keynet_domain::Domain;
use keynet_domain::datasets::task_type_name;
use keynet_domain::deployments::hosting::wanted_replicas;
use keynet_domain::deployments::metrics::Window;
use keynet_domain::entities::deployment_metrics::SampleSource;
use keynet_domain::entities::deployment_replicas;
use keynet_domain::entities::deployments::{self, DeploymentStatus};
use keynet_domain::ids::{DeploymentId, OrgId, ReplicaId, ServingHostId};
use keynet_domain::time::now;
use keynet_serving::{BatchSettings, Engine, OnnxModel};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
pub struct ServingHostConfig {
    pub reconcile_interval: Duration,
    /// A host that has not beaten for this long is gone; its slots are freed.
    pub lease: Duration,
    /// Replicas this host holds at most, across deployments.
    pub max_replicas: usize,
    /// Requests waiting in one replica's queue at most; beyond, the endpoint answers 503.
    pub max_queued: usize,
    /// How often a replica's CPU time is written to the ledger.
    pub meter_interval: Duration,
    /// Where other instances reach this host's replicas; `None`: only this process calls
    /// them.
    pub address: Option<String>,
    /// What runs the models.
    pub engine: Engine,
}

impl Default for ServingHostConfig {
    fn default() -> Self {
        Self {
            reconcile_interval: Duration::from_secs(1),
            lease: Duration::from_secs(15),
            max_replicas: 8,
            max_queued: 256,
            meter_interval: Duration::from_secs(60),
            address: None,
            engine: Engine::Rten,
        }
    }
}

/// The time of a replica not yet written to the ledger.
struct Metering {
    since: Instant,
    beats: u64,
}

pub struct ServingHost {
    domain: Arc<Domain>,
    id: ServingHostId,
    replicas: Arc<LocalReplicas>,
    config: ServingHostConfig,
    /// Replicas whose model is being loaded.
    loading: Arc<Mutex<HashSet<ReplicaId>>>,
    metering: HashMap<ReplicaId, Metering>,
    /// The organization of each deployment seen, for the metrics' rows.
    orgs: HashMap<DeploymentId, OrgId>,
    /// Batches each replica had run at the last metrics sample, by size.
    sampled_batches: HashMap<ReplicaId, Vec<u64>>,
    sampled_at: Instant,
}

/// How often a host writes what its replicas did (batches, queues, replicas).
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

impl ServingHost {
    pub fn new(
        domain: Arc<Domain>,
        replicas: Arc<LocalReplicas>,
        config: ServingHostConfig,
    ) -> Self {
        Self {
            domain,
            id: ServingHostId::new(),
            replicas,
            config,
            loading: Arc::default(),
            metering: HashMap::new(),
            orgs: HashMap::new(),
            sampled_batches: HashMap::new(),
            sampled_at: Instant::now(),
        }
    }

    /// Reconciles every interval (or at once when an endpoint asks) until `shutdown`, then
    /// gives its slots back.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let replicas = Arc::clone(&self.replicas);
        loop {
            if let Err(error) = self.reconcile().await {
                tracing::warn!(error = %error, "reconciling deployments failed; trying again");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.reconcile_interval) => {}
                () = replicas.wanted() => {}
            }
        }
        for replica in self.replicas.all() {
            self.drop_replica(replica.id, replica.deployment_id, None)
                .await;
        }
    }

    async fn reconcile(&mut self) -> keynet_domain::Result<()> {
        let deployments = self.domain.hosted_deployments().await?;
        let rows = self.domain.all_replicas().await?;
        let mut by_deployment: HashMap<DeploymentId, Vec<deployment_replicas::Model>> =
            HashMap::new();
        for row in &rows {
            by_deployment
                .entry(row.deployment_id)
                .or_default()
                .push(row.clone());
        }
        let mut wanted_here: HashSet<ReplicaId> = HashSet::new();
        for deployment in deployments {
            self.orgs.insert(deployment.id, deployment.org_id);
            let deployment = if deployment.status == DeploymentStatus::Pending {
                self.domain.settle_export(deployment).await?
            } else {
                deployment
            };
            let rows = by_deployment.remove(&deployment.id).unwrap_or_default();
            let wanted = wanted_replicas(&deployment, &rows, now());
            if wanted == 0 && deployment.status == DeploymentStatus::Ready {
                self.domain.scale_to_zero(deployment.clone()).await?;
            }
            for row in rows
                .iter()
                .filter(|r| r.host_id == self.id && r.slot < wanted)
            {
                wanted_here.insert(row.id);
                self.keep_settings(&deployment, row.id);
            }
            self.claim_free_slot(&deployment, &rows, wanted).await?;
        }
        self.drop_unwanted(&rows, &wanted_here).await;
        self.beat().await?;
        let lease =
            chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(15));
        self.domain.reap_stale_replicas(lease).await?;
        Ok(())
    }

    /// Claims the lowest free slot below `wanted`, if this host has room; one per
    /// reconciliation, so hosts share a deployment's replicas.
    async fn claim_free_slot(
        &mut self,
        deployment: &deployments::Model,
        rows: &[deployment_replicas::Model],
        wanted: i32,
    ) -> keynet_domain::Result<()> {
        let held = self.replicas.all().len() + lock(&self.loading).len();
        if held >= self.config.max_replicas {
            return Ok(());
        }
        let taken: HashSet<i32> = rows.iter().map(|r| r.slot).collect();
        let Some(slot) = (0..wanted).find(|slot| !taken.contains(slot)) else {
            return Ok(());
        };
        let Some(row) = self
            .domain
            .claim_replica(deployment, self.id, self.config.address.as_deref(), slot)
            .await?
        else {
            return Ok(());
        };
        tracing::info!(deployment = %deployment.id, slot, "starting a replica");
        lock(&self.loading).insert(row.id);
        tokio::spawn(load_replica(
            Arc::clone(&self.domain),
            Arc::clone(&self.replicas),
            Arc::clone(&self.loading),
            deployment.clone(),
            row,
            self.config.max_queued,
            self.config.engine.clone(),
        ));
        Ok(())
    }

    /// Restarts a replica's queue when the deployment's batching changed.
    fn keep_settings(&self, deployment: &deployments::Model, replica: ReplicaId) {
        let settings = batch_settings(deployment, self.config.max_queued);
        if let Some(held) = self
            .replicas
            .of(deployment.id)
            .into_iter()
            .find(|held| held.id == replica)
            && held.settings() != settings
        {
            self.replicas.put(Arc::new(held.with_settings(settings)));
        }
    }

    /// Drops the replicas held here that are not wanted any more (their deployment stopped,
    /// failed, was deleted or scaled down, or their row was freed), and gives their slots
    /// back.
    async fn drop_unwanted(
        &mut self,
        rows: &[deployment_replicas::Model],
        wanted_here: &HashSet<ReplicaId>,
    ) {
        let loading = lock(&self.loading).clone();
        for replica in self.replicas.all() {
            if !wanted_here.contains(&replica.id) {
                let row = rows.iter().find(|r| r.id == replica.id).cloned();
                self.drop_replica(replica.id, replica.deployment_id, row)
                    .await;
            }
        }
        // Rows of this host that hold nothing (a load that failed or was overtaken).
        for row in rows.iter().filter(|r| {
            r.host_id == self.id
                && !wanted_here.contains(&r.id)
                && !loading.contains(&r.id)
                && self
                    .replicas
                    .of(r.deployment_id)
                    .iter()
                    .all(|held| held.id != r.id)
        }) {
            if let Err(error) = self.domain.release_replica(row).await {
                tracing::warn!(error = %error, "releasing a replica's slot failed");
            }
        }
    }

    async fn drop_replica(
        &mut self,
        replica: ReplicaId,
        deployment: DeploymentId,
        row: Option<deployment_replicas::Model>,
    ) {
        tracing::info!(%deployment, "dropping a replica");
        self.replicas.remove(replica);
        self.meter(replica, deployment, true).await;
        if let Some(row) = row
            && let Err(error) = self.domain.release_replica(&row).await
        {
            tracing::warn!(error = %error, "releasing a replica's slot failed");
        }
    }

    /// Heartbeats with each replica's load, and meters the replicas due.
    async fn beat(&mut self) -> keynet_domain::Result<()> {
        let held = self.replicas.all();
        let loads: Vec<(ReplicaId, i32)> = held
            .iter()
            .map(|replica| {
                (
                    replica.id,
                    i32::try_from(replica.take_peak()).unwrap_or(i32::MAX),
                )
            })
            .collect();
        self.domain.heartbeat_replicas(self.id, &loads).await?;
        for replica in &held {
            self.meter(replica.id, replica.deployment_id, false).await;
        }
        if self.sampled_at.elapsed() >= SAMPLE_INTERVAL {
            self.sample(&held).await?;
        }
        Ok(())
    }

    /// Writes, per deployment, the replicas held here, their queues and the batches they
    /// ran since the last sample.
    async fn sample(&mut self, held: &[Arc<Replica>]) -> keynet_domain::Result<()> {
        let mut windows: HashMap<(OrgId, DeploymentId), Window> = HashMap::new();
        let mut sampled = HashMap::new();
        for replica in held {
            let Some(org) = self.orgs.get(&replica.deployment_id) else {
                continue;
            };
            let window = windows.entry((*org, replica.deployment_id)).or_default();
            window.replicas += 1;
            window.queue_depth += i32::try_from(replica.queued()).unwrap_or(i32::MAX);
            let batches = replica.batches_by_size();
            let before = self.sampled_batches.get(&replica.id);
            for (size, count) in batches.iter().enumerate().skip(1) {
                let earlier = before.and_then(|b| b.get(size)).copied().unwrap_or(0);
                if *count > earlier {
                    *window.batches.entry(size.to_string()).or_default() +=
                        i64::try_from(count - earlier).unwrap_or(i64::MAX);
                }
            }
            sampled.insert(replica.id, batches);
        }
        self.sampled_batches = sampled;
        self.sampled_at = Instant::now();
        self.domain
            .record_deployment_windows(SampleSource::Host, self.id.0, windows.into_iter().collect())
            .await
    }

    /// Writes a replica's CPU time since it was last written, when due (or `now`).
    async fn meter(&mut self, replica: ReplicaId, deployment: DeploymentId, now_: bool) {
        let entry = self.metering.entry(replica).or_insert_with(|| Metering {
            since: Instant::now(),
            beats: 0,
        });
        let elapsed = entry.since.elapsed();
        if !now_ && elapsed < self.config.meter_interval {
            return;
        }
        let beat = entry.beats;
        let Ok(Some(deployment)) = self.domain.deployment_by_id(deployment).await else {
            // Deleted: its time since the last write is not charged.
            self.metering.remove(&replica);
            return;
        };
        let fact = metering::replica_time(&deployment, replica, beat, elapsed.as_millis() as u64);
        match ledger::record(self.domain.db(), vec![fact]).await {
            Ok(_) => {
                if now_ {
                    self.metering.remove(&replica);
                } else if let Some(entry) = self.metering.get_mut(&replica) {
                    entry.since = Instant::now();
                    entry.beats += 1;
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "metering a replica's time failed; trying again")
            }
        }
    }
}

fn batch_settings(deployment: &deployments::Model, max_queued: usize) -> BatchSettings {
    BatchSettings {
        max_batch_size: deployment.max_batch_size.max(1) as usize,
        max_queue_delay: Duration::from_millis(deployment.max_queue_delay_ms.max(0) as u64),
        max_queued,
        threads: threads_for(deployment.resources.cpus),
    }
}

/// The threads a replica's batches run on: its CPUs rounded up, at most this host's cores.
fn threads_for(cpus: f64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    (cpus.ceil() as usize).clamp(1, cores)
}

/// Loads the deployment's export into a new replica and marks it ready; a model the runtime
/// cannot serve fails the deployment with the runtime's reason.
async fn load_replica(
    domain: Arc<Domain>,
    replicas: Arc<LocalReplicas>,
    loading: Arc<Mutex<HashSet<ReplicaId>>>,
    deployment: deployments::Model,
    row: deployment_replicas::Model,
    max_queued: usize,
    engine: Engine,
) {
    let deployment_id = deployment.id;
    let loaded = load_model(&domain, &deployment, engine).await;
    match loaded {
        Ok(model) => {
            let replica = Replica::start(
                row.id,
                deployment.id,
                row.slot,
                Arc::new(model),
                batch_settings(&deployment, max_queued),
            );
            replicas.put(Arc::new(replica));
            if let Err(error) = domain.replica_ready(row.id).await {
                tracing::warn!(error = %error, "marking a replica ready failed");
            }
        }
        Err(LoadError::Unservable(reason)) => {
            if let Err(error) = domain.fail_deployment(deployment, &reason).await {
                tracing::warn!(error = %error, "failing a deployment failed");
            }
        }
        Err(LoadError::Platform(error)) => {
            // The slot is given back below; the next reconciliation tries again.
            tracing::warn!(error = %error, deployment = %deployment_id, "loading a replica failed");
        }
    }
    lock(&loading).remove(&row.id);
    if replicas
        .of(deployment_id)
        .iter()
        .all(|held| held.id != row.id)
        && let Err(error) = domain.release_replica(&row).await
    {
        tracing::warn!(error = %error, "releasing a replica's slot failed");
    }
}

enum LoadError {
    /// The export cannot be served: the deployment fails with this reason.
    Unservable(String),
    /// The platform failed (storage, database): worth another try.
    Platform(String),
}

async fn load_model(
    domain: &Domain,
    deployment: &deployments::Model,
    engine: Engine,
) -> Result<OnnxModel, LoadError> {
    let artifact = domain
        .served_artifact(deployment)
        .await
        .map_err(|e| LoadError::Platform(e.to_string()))?;
    let mut reader = domain
        .blobs()
        .open(&artifact.blob_key)
        .await
        .map_err(|e| LoadError::Platform(e.to_string()))?;
    let mut onnx = Vec::with_capacity(usize::try_from(artifact.size).unwrap_or(0));
    reader
        .read_to_end(&mut onnx)
        .await
        .map_err(|e| LoadError::Platform(e.to_string()))?;
    let task = domain
        .served_task(deployment)
        .await
        .map_err(|e| LoadError::Platform(e.to_string()))?;
    let metadata = artifact.metadata.unwrap_or_default();
    let loaded = tokio::task::spawn_blocking(move || OnnxModel::load_on(&engine, &onnx, &metadata))
        .await
        .map_err(|e| LoadError::Platform(format!("loading the model panicked: {e}")))?;
    let unservable = |reason: String| {
        LoadError::Unservable(format!(
            "{reason}; export the model again with a trainer that follows the serving contract (docs/trainer-contract.md, \"Serving an ONNX export\")"
        ))
    };
    let model = loaded.map_err(|error| unservable(error.to_string()))?;
    let (answers, wanted) = (model.metadata().task.name(), task_type_name(task));
    if answers != wanted {
        return Err(unservable(format!(
            "the export's metadata field `task` is {answers}, but the project's models do {wanted}"
        )));
    }
    Ok(model)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::threads_for;

    #[test]
    fn a_replica_runs_on_its_cpus_rounded_up_at_most_the_hosts_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        assert_eq!(threads_for(0.1), 1);
        assert_eq!(threads_for(1.0), 1);
        assert_eq!(threads_for(1.5), 2.min(cores));
        assert_eq!(threads_for(64.0), cores);
    }
}
