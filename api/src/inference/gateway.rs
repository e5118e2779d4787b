//! From a deployment id to an answer: the deployment as this instance last read it (at most
//! a second old), and a replica to run the inputs on: one in this process when it holds
//! one, else one on a worker host (over HTTP, see `internal`). A deployment without a
//! ready replica (starting, or scaled to zero) is woken, and the request waits for its
//! first replica up to the cold-start bound, then gets 503 with `Retry-After`.

use super::expiring::Expiring;
use super::internal::RemoteReplicas;
use super::refusal::Refusal;
use actix_web::http::StatusCode;
use keynet_domain::Domain;
use keynet_domain::entities::deployments::{self, DeploymentStatus};
use keynet_domain::ids::DeploymentId;
use keynet_serving::ExportMetadata;
use keynet_workers::serving::LocalReplicas;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long this instance trusts what it read of a deployment (a stop takes effect within).
const DEPLOYMENT_TTL: Duration = Duration::from_secs(1);
/// How often a request waiting for a cold start looks again for remote replicas.
const COLD_START_POLL: Duration = Duration::from_millis(200);

/// A deployment as the endpoint needs it.
pub struct Served {
    pub deployment: deployments::Model,
    /// How its model reads images and names classes; `None` before its export exists.
    pub metadata: Option<Arc<ExportMetadata>>,
}

pub struct Gateway {
    domain: Arc<Domain>,
    local: Option<Arc<LocalReplicas>>,
    remote: RemoteReplicas,
    cold_start_wait: Duration,
    read: Expiring<DeploymentId, Option<Arc<Served>>>,
}

impl Gateway {
    pub fn new(
        domain: Arc<Domain>,
        local: Option<Arc<LocalReplicas>>,
        remote: RemoteReplicas,
        cold_start_wait: Duration,
    ) -> Self {
        Self {
            domain,
            local,
            remote,
            cold_start_wait,
            read: Expiring::new(DEPLOYMENT_TTL),
        }
    }

    pub fn local(&self) -> Option<&Arc<LocalReplicas>> {
        self.local.as_ref()
    }

    /// The deployment, read at most [`DEPLOYMENT_TTL`] ago; `None` when it does not exist.
    pub async fn served(&self, id: DeploymentId) -> Result<Option<Arc<Served>>, Refusal> {
        if let Some(served) = self.read.get(&id) {
            return Ok(served);
        }
        let served = match self.domain.deployment_by_id(id).await? {
            Some(deployment) => Some(Arc::new(self.describe(deployment).await?)),
            None => None,
        };
        self.read.put(id, served.clone());
        Ok(served)
    }

    async fn describe(&self, deployment: deployments::Model) -> Result<Served, Refusal> {
        let metadata = match deployment.artifact_id {
            Some(_) => {
                let artifact = self.domain.served_artifact(&deployment).await?;
                let parsed = ExportMetadata::parse(&artifact.metadata.unwrap_or_default());
                // An export the runtime cannot read fails the deployment on its host; until
                // then its requests are answered as not serving.
                parsed.ok().map(Arc::new)
            }
            None => None,
        };
        Ok(Served {
            deployment,
            metadata,
        })
    }

    /// The organization of a deployment this instance read, without reading it again.
    pub fn org_of(&self, id: DeploymentId) -> Option<keynet_domain::ids::OrgId> {
        self.read
            .last(&id)
            .flatten()
            .map(|served| served.deployment.org_id)
    }

    /// Whether the deployment takes requests now, or the reason it does not.
    pub fn check_serving(&self, served: &Served) -> Result<Arc<ExportMetadata>, Refusal> {
        let deployment = &served.deployment;
        match deployment.status {
            DeploymentStatus::Stopped => Err(Refusal::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                "the deployment is stopped; start it (startDeployment) to serve again",
            )),
            DeploymentStatus::Failed => Err(Refusal::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                format!(
                    "the deployment failed: {}",
                    deployment
                        .status_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ),
            )),
            DeploymentStatus::Pending => Err(Refusal::unavailable(
                "the deployment waits for its ONNX export; try again once it is READY",
                10,
            )),
            _ => served
                .metadata
                .clone()
                .ok_or_else(|| Refusal::unavailable("the deployment's model is being loaded", 2)),
        }
    }

    /// Runs `inputs` on a replica of the deployment, waking it and waiting for a cold start
    /// when it has none.
    pub async fn run(
        &self,
        served: &Served,
        inputs: Vec<Vec<f32>>,
    ) -> Result<Vec<Vec<f32>>, Refusal> {
        let id = served.deployment.id;
        // Resets the idle clock (coarsely), and wakes a deployment scaled to zero.
        self.domain.note_request(&served.deployment).await?;
        if served.deployment.status != DeploymentStatus::Ready
            && let Some(local) = &self.local
        {
            local.want_now();
        }
        let deadline = Instant::now() + self.cold_start_wait;
        loop {
            let added = self.local.as_ref().map(|local| local.added());
            let mut added = added.map(Box::pin);
            if let Some(added) = added.as_mut() {
                added.as_mut().enable();
            }
            if let Some(replica) = self.local.as_ref().and_then(|local| local.pick(id)) {
                return Ok(replica.infer(inputs).await?);
            }
            if let Some(answer) = self.remote.run(&self.domain, id, &inputs).await? {
                return Ok(answer);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Refusal::unavailable(
                    format!(
                        "no replica of the deployment became ready within {} s; it is starting, try again",
                        self.cold_start_wait.as_secs()
                    ),
                    5,
                ));
            }
            let poll = left.min(COLD_START_POLL);
            match added {
                Some(added) => {
                    let _ = tokio::time::timeout(poll, added).await;
                }
                None => tokio::time::sleep(poll).await,
            }
        }
    }
}
