//! Deployments: create, list, change, stop, start and delete; their keys; their status live.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, shared_domain, viewer};
use super::enums::{CheckpointKind, DeploymentRuntime, DeploymentStatus, ReplicaStatus};
use super::job_types::JobResources;
use super::jobs::JobResourcesInput;
use super::live;
use super::types::id;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, stream};
use keynet_domain::Error;
use keynet_domain::deployments::keys::NewDeploymentKey;
use keynet_domain::deployments::metrics::MetricsPoint;
use keynet_domain::deployments::{DeploymentSource, NewDeployment, SettingsInput};
use keynet_domain::entities::{deployment_keys, deployment_replicas, deployments};
use keynet_domain::events::{Event, deployment_topic};
use keynet_domain::ids::{DeploymentId, DeploymentKeyId, JobId, ProjectId};

/// Where the model comes from: an ONNX export job's file, or a training job's checkpoint
/// (exported to ONNX for the deployment by a new export job). Exactly one of `exportJobId`
/// and `trainingJobId`.
#[derive(InputObject)]
pub struct DeploymentSourceInput {
    pub export_job_id: Option<ID>,
    pub training_job_id: Option<ID>,
    /// With `trainingJobId`; BEST when not given.
    pub checkpoint: Option<CheckpointKind>,
}

#[derive(InputObject, Default)]
pub struct DeploymentSettingsInput {
    /// 0 lets the deployment scale to zero after `idleSecondsBeforeScaleToZero`.
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    /// Requests run together at most (1 turns batching off).
    pub max_batch_size: Option<i32>,
    /// How long the first request of a batch waits for others, while requests are coming
    /// in (one after a quiet spell runs at once).
    pub max_queue_delay_ms: Option<i32>,
    /// Per replica; the ONNX runtime takes CPUs only, and runs each batch on that many
    /// threads (rounded up, at most the host's cores). Replica time is metered by them.
    pub resources: Option<JobResourcesInput>,
    pub idle_seconds_before_scale_to_zero: Option<i32>,
}

impl From<DeploymentSettingsInput> for SettingsInput {
    fn from(given: DeploymentSettingsInput) -> Self {
        Self {
            min_replicas: given.min_replicas,
            max_replicas: given.max_replicas,
            max_batch_size: given.max_batch_size,
            max_queue_delay_ms: given.max_queue_delay_ms,
            resources: given.resources.map(Into::into),
            idle_seconds_before_scale_to_zero: given.idle_seconds_before_scale_to_zero,
        }
    }
}

#[derive(InputObject)]
pub struct CreateDeploymentInput {
    pub project_id: ID,
    pub name: String,
    pub source: DeploymentSourceInput,
    pub runtime: DeploymentRuntime,
    /// Replicas, batching, resources and scale to zero; defaults: 1 replica, batches of 8
    /// waiting at most 5 ms, 1 CPU, scale to zero after 300 s when `minReplicas` is 0.
    #[graphql(default)]
    pub settings: DeploymentSettingsInput,
}

#[derive(InputObject)]
pub struct CreateDeploymentKeyInput {
    pub deployment_id: ID,
    pub name: String,
    /// None: the key does not expire (revoke it to end it).
    pub expires_at: Option<DateTime<Utc>>,
    /// The key's own limit; beyond it requests get 429 with `Retry-After`.
    pub requests_per_second: Option<i32>,
}

fn source(input: DeploymentSourceInput) -> ApiResult<DeploymentSource> {
    match (input.export_job_id, input.training_job_id) {
        (Some(export), None) => Ok(DeploymentSource::Export(parse_id::<JobId>(
            &export,
            "source.exportJobId",
        )?)),
        (None, Some(training)) => Ok(DeploymentSource::Checkpoint {
            job_id: parse_id::<JobId>(&training, "source.trainingJobId")?,
            checkpoint: input.checkpoint.unwrap_or(CheckpointKind::Best).into(),
        }),
        _ => Err(Error::invalid(
            "source",
            "give exactly one of exportJobId and trainingJobId",
        )
        .into()),
    }
}

pub struct Deployment(pub deployments::Model);

#[Object]
impl Deployment {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn project_id(&self) -> ID {
        id(self.0.project_id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn runtime(&self) -> DeploymentRuntime {
        self.0.runtime.into()
    }
    async fn status(&self) -> DeploymentStatus {
        self.0.status.into()
    }
    /// Why it is pending, scaled to zero, stopped or failed, in words a person can act on.
    async fn status_reason(&self) -> Option<&str> {
        self.0.status_reason.as_deref()
    }
    /// The export job, or the training job whose checkpoint was exported.
    async fn source_job_id(&self) -> ID {
        id(self.0.source_job_id)
    }
    async fn source_checkpoint(&self) -> Option<CheckpointKind> {
        self.0.source_checkpoint.map(Into::into)
    }
    /// The export job that makes (or made) the served model.
    async fn export_job_id(&self) -> Option<ID> {
        self.0.export_job_id.map(id)
    }
    async fn min_replicas(&self) -> i32 {
        self.0.min_replicas
    }
    async fn max_replicas(&self) -> i32 {
        self.0.max_replicas
    }
    async fn max_batch_size(&self) -> i32 {
        self.0.max_batch_size
    }
    async fn max_queue_delay_ms(&self) -> i32 {
        self.0.max_queue_delay_ms
    }
    async fn resources(&self) -> JobResources {
        JobResources {
            gpus: self.0.resources.gpus,
            cpus: self.0.resources.cpus,
            memory_mb: self.0.resources.memory_mb,
        }
    }
    async fn idle_seconds_before_scale_to_zero(&self) -> i32 {
        self.0.idle_seconds_before_scale_to_zero
    }
    async fn last_request_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_request_at
    }
    /// `POST` an image here (raw body, multipart `image`, or JSON `{"image": base64}`) with
    /// `Authorization: Bearer <key>`.
    async fn infer_url(&self, ctx: &Context<'_>) -> String {
        format!("{}/v1/infer/{}", domain(ctx).config().public_url, self.0.id)
    }
    /// The Open Inference Protocol's base URL (`tritonclient.http` takes it without the
    /// scheme); the model name is the deployment's id.
    async fn oip_url(&self, ctx: &Context<'_>) -> String {
        format!("{}/oip", domain(ctx).config().public_url)
    }
    /// Requests, errors by class, latency percentiles, batch sizes, queue depth and replicas
    /// in `[from, to)`, one point per `stepSeconds` (steps without data are left out).
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default = 60)] step_seconds: i32,
    ) -> ApiResult<Vec<DeploymentMetricsPoint>> {
        let points = domain(ctx)
            .deployment_metrics(
                viewer(ctx)?,
                self.0.id,
                from,
                to,
                chrono::Duration::seconds(i64::from(step_seconds)),
            )
            .await?;
        Ok(points
            .into_iter()
            .map(DeploymentMetricsPoint::from)
            .collect())
    }
    /// The replicas that hold the model now, on any host.
    async fn replicas(&self, ctx: &Context<'_>) -> ApiResult<Vec<Replica>> {
        let rows = domain(ctx).replicas_of(self.0.id).await?;
        Ok(rows.into_iter().map(Replica).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Replica(deployment_replicas::Model);

#[Object]
impl Replica {
    async fn slot(&self) -> i32 {
        self.0.slot
    }
    async fn status(&self) -> ReplicaStatus {
        self.0.status.into()
    }
    /// Requests queued or running on it at its last heartbeat.
    async fn load(&self) -> i32 {
        self.0.load
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn ready_at(&self) -> Option<DateTime<Utc>> {
        self.0.ready_at
    }
    async fn heartbeat_at(&self) -> DateTime<Utc> {
        self.0.heartbeat_at
    }
}

pub struct DeploymentKey(deployment_keys::Model);

#[Object]
impl DeploymentKey {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn deployment_id(&self) -> ID {
        id(self.0.deployment_id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The key's first characters, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn requests_per_second(&self) -> Option<i32> {
        self.0.requests_per_second
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct CreatedDeploymentKey {
    pub key: DeploymentKey,
    /// The secret (`kdk_…`): shown here once, never again.
    pub secret: String,
}

/// A count by name: errors by class (`bad_input`, `refused`, `not_serving`, `limited`,
/// `unavailable`, `internal`), batches by size.
#[derive(SimpleObject)]
pub struct NamedCount {
    pub name: String,
    pub count: i64,
}

fn named(counts: std::collections::BTreeMap<String, i64>) -> Vec<NamedCount> {
    counts
        .into_iter()
        .map(|(name, count)| NamedCount { name, count })
        .collect()
}

#[derive(SimpleObject)]
pub struct DeploymentMetricsPoint {
    /// The step's start.
    pub at: DateTime<Utc>,
    pub requests: i64,
    pub errors: Vec<NamedCount>,
    /// Latency percentiles, request to answer, in ms (a latency bucket's upper bound).
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    pub latency_ms_p99: Option<f64>,
    pub batch_sizes: Vec<NamedCount>,
    /// The most requests waiting for a batch at once.
    pub queue_depth: i32,
    pub replicas: i32,
}

impl From<MetricsPoint> for DeploymentMetricsPoint {
    fn from(point: MetricsPoint) -> Self {
        Self {
            at: point.at,
            requests: point.requests,
            errors: named(point.errors),
            latency_ms_p50: point.latency_ms_p50,
            latency_ms_p95: point.latency_ms_p95,
            latency_ms_p99: point.latency_ms_p99,
            batch_sizes: named(point.batches),
            queue_depth: point.queue_depth,
            replicas: point.replicas,
        }
    }
}

#[derive(SimpleObject)]
pub struct DeploymentUpdate {
    pub deployment_id: ID,
    pub status: DeploymentStatus,
    pub status_reason: Option<String>,
    pub ready_replicas: i64,
}

#[derive(Default)]
pub struct DeploymentQuery;

#[Object]
impl DeploymentQuery {
    /// A project's deployments, newest first.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        status: Option<DeploymentStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Deployment>> {
        let project: ProjectId = parse_id(&project_id, "projectId")?;
        let found = domain(ctx)
            .deployments(
                viewer(ctx)?,
                project,
                status.map(Into::into),
                page(first, after)?,
            )
            .await?;
        Ok(connection(found, |d| d.id.0, Deployment))
    }

    async fn deployment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Deployment> {
        let id: DeploymentId = parse_id(&id, "id")?;
        Ok(Deployment(domain(ctx).deployment(viewer(ctx)?, id).await?))
    }

    /// The deployment's keys, revoked ones included.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn deployment_keys(
        &self,
        ctx: &Context<'_>,
        deployment_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<DeploymentKey>> {
        let deployment: DeploymentId = parse_id(&deployment_id, "deploymentId")?;
        let keys = domain(ctx)
            .deployment_keys(viewer(ctx)?, deployment, page(first, after)?)
            .await?;
        Ok(connection(keys, |k| k.id.0, DeploymentKey))
    }
}

#[derive(Default)]
pub struct DeploymentMutation;

#[Object]
impl DeploymentMutation {
    /// Serves a model: from an ONNX export, or from a training job's checkpoint (exported
    /// first; the deployment is PENDING until the export is done).
    async fn create_deployment(
        &self,
        ctx: &Context<'_>,
        input: CreateDeploymentInput,
    ) -> ApiResult<Deployment> {
        let project: ProjectId = parse_id(&input.project_id, "projectId")?;
        let created = domain(ctx)
            .create_deployment(
                viewer(ctx)?,
                NewDeployment {
                    project_id: project,
                    name: input.name,
                    source: source(input.source)?,
                    runtime: input.runtime.into(),
                    settings: input.settings.into(),
                },
            )
            .await?;
        Ok(Deployment(created))
    }

    /// Replicas, batching, resources, scale to zero; the replicas pick the change up within
    /// a second or two.
    async fn update_deployment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        settings: DeploymentSettingsInput,
    ) -> ApiResult<Deployment> {
        let id: DeploymentId = parse_id(&id, "id")?;
        Ok(Deployment(
            domain(ctx)
                .update_deployment(viewer(ctx)?, id, settings.into())
                .await?,
        ))
    }

    /// Stops serving (requests get 409); keys and settings stay.
    async fn stop_deployment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Deployment> {
        let id: DeploymentId = parse_id(&id, "id")?;
        Ok(Deployment(
            domain(ctx).stop_deployment(viewer(ctx)?, id).await?,
        ))
    }

    /// Serves a stopped or failed deployment again.
    async fn start_deployment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Deployment> {
        let id: DeploymentId = parse_id(&id, "id")?;
        Ok(Deployment(
            domain(ctx).start_deployment(viewer(ctx)?, id).await?,
        ))
    }

    /// Removes the deployment and its keys; its usage stays billed.
    async fn delete_deployment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Deployment> {
        let id: DeploymentId = parse_id(&id, "id")?;
        Ok(Deployment(
            domain(ctx).delete_deployment(viewer(ctx)?, id).await?,
        ))
    }

    /// A key for the deployment's endpoint. Rotate by creating a new key, moving callers to
    /// it, then revoking the old one: both work meanwhile.
    async fn create_deployment_key(
        &self,
        ctx: &Context<'_>,
        input: CreateDeploymentKeyInput,
    ) -> ApiResult<CreatedDeploymentKey> {
        let deployment: DeploymentId = parse_id(&input.deployment_id, "deploymentId")?;
        let created = domain(ctx)
            .create_deployment_key(
                viewer(ctx)?,
                NewDeploymentKey {
                    deployment_id: deployment,
                    name: input.name,
                    expires_at: input.expires_at,
                    requests_per_second: input.requests_per_second,
                },
            )
            .await?;
        Ok(CreatedDeploymentKey {
            key: DeploymentKey(created.key),
            secret: created.secret,
        })
    }

    /// Ends a key (within a second on every instance).
    async fn revoke_deployment_key(
        &self,
        ctx: &Context<'_>,
        key_id: ID,
    ) -> ApiResult<DeploymentKey> {
        let id: DeploymentKeyId = parse_id(&key_id, "keyId")?;
        Ok(DeploymentKey(
            domain(ctx).revoke_deployment_key(viewer(ctx)?, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct DeploymentSubscription;

#[Subscription]
impl DeploymentSubscription {
    /// The deployment's status and ready replicas now, then each change.
    async fn deployment_updated(
        &self,
        ctx: &Context<'_>,
        deployment_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<DeploymentUpdate>> + use<>, ApiError> {
        let wanted: DeploymentId = parse_id(&deployment_id, "deploymentId")?;
        let (deployment, guard) = live::admit(ctx, move |domain, viewer| async move {
            domain.deployment(&viewer, wanted).await
        })
        .await?;
        let domain = shared_domain(ctx);
        // Subscribed before the current state is read: no change falls in between.
        let changes = domain.events().subscribe(&deployment_topic(wanted));
        let ready = domain
            .replicas_of(wanted)
            .await?
            .iter()
            .filter(|r| {
                r.status == keynet_domain::entities::deployment_replicas::ReplicaStatus::Ready
            })
            .count() as i64;
        let current = DeploymentUpdate {
            deployment_id: id(deployment.id),
            status: deployment.status.into(),
            status_reason: deployment.status_reason.clone(),
            ready_replicas: ready,
        };
        let updates = changes.filter_map(|event| async move {
            match event {
                Event::DeploymentUpdated(summary) => Some(Ok(DeploymentUpdate {
                    deployment_id: id(summary.deployment_id),
                    status: summary.status.into(),
                    status_reason: summary.status_reason,
                    ready_replicas: summary.ready_replicas,
                })),
                _ => None,
            }
        });
        Ok(guard.watch(stream::once(async move { Ok(current) }).chain(updates)))
    }

    /// The deployment's metrics live: every `stepSeconds`, the step that just ended.
    async fn deployment_metrics(
        &self,
        ctx: &Context<'_>,
        deployment_id: ID,
        #[graphql(default = 5)] step_seconds: i32,
    ) -> Result<impl Stream<Item = ApiResult<DeploymentMetricsPoint>> + use<>, ApiError> {
        let wanted: DeploymentId = parse_id(&deployment_id, "deploymentId")?;
        if !(1..=3600).contains(&step_seconds) {
            return Err(Error::invalid("stepSeconds", "must be between 1 and 3600").into());
        }
        let (_, guard) = live::admit(ctx, move |domain, viewer| async move {
            domain.deployment(&viewer, wanted).await
        })
        .await?;
        let domain = shared_domain(ctx);
        let viewer = std::sync::Arc::new(viewer(ctx)?.clone());
        let step = chrono::Duration::seconds(i64::from(step_seconds));
        let ticks = ticks_every(std::time::Duration::from_secs(step_seconds as u64));
        let points = ticks.then(move |()| {
            let (domain, viewer) = (domain.clone(), viewer.clone());
            async move {
                let to = chrono::Utc::now();
                let from = to - step;
                let points = domain
                    .deployment_metrics(&viewer, wanted, from, to, step)
                    .await?;
                let point = points.into_iter().next().map_or_else(
                    || DeploymentMetricsPoint::from(MetricsPoint::empty(from)),
                    DeploymentMetricsPoint::from,
                );
                Ok(point)
            }
        });
        Ok(guard.watch(points))
    }
}

/// A tick every `every`, the first after one period.
fn ticks_every(every: std::time::Duration) -> impl Stream<Item = ()> {
    stream::unfold(
        tokio::time::interval_at(tokio::time::Instant::now() + every, every),
        |mut interval| async move {
            interval.tick().await;
            Some(((), interval))
        },
    )
}
