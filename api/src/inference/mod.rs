//! The endpoints of deployments: Keynet's `POST /v1/infer/{deployment}` (an image in, the
//! task's predictions out, in the shapes of `job.inferenceResults`: top classes, or boxes
//! in the image's pixels) and the Open Inference
//! Protocol under `/oip/v2/…` (what `tritonclient` and clients built on it speak; the model
//! name is the deployment's id). Both admit a request the same way, in this order: a
//! credential (401), the deployment and the caller's right to it (404 / 403), the key's
//! rate limit (429), whether it serves (409 / 503), the plan's quota (429), and only then
//! read and run the input. Every answered request is counted for the ledger.

mod callers;
mod expiring;
mod gateway;
mod images;
pub mod internal;
mod oip;
mod refusal;

use crate::metrics::Metrics;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use callers::Callers;
use gateway::{Gateway, Served};
use keynet_billing::endpoints::{EndpointMeter, Metered};
use keynet_domain::deployments::keys::Caller;
use keynet_domain::deployments::metrics::Window;
use keynet_domain::entities::deployment_metrics::SampleSource;
use keynet_domain::ids::{DeploymentId, OrgId};
use keynet_domain::{Domain, Error};
use keynet_serving::{ExportMetadata, Task};
use keynet_workers::serving::LocalReplicas;
use refusal::Refusal;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use internal::{HostState, RemoteReplicas, internal_secret};

/// Classes answered when the caller does not say (`?top_k=`).
const DEFAULT_TOP_K: usize = 5;
/// Boxes answered at most: more than any image's objects, fewer than a detector's rows.
const MAX_BOXES: usize = 1000;

pub struct InferenceSettings {
    pub max_request_bytes: usize,
    pub cold_start_wait: Duration,
    pub trust_forwarded_for: bool,
}

pub struct Inference {
    domain: Arc<Domain>,
    gateway: Gateway,
    callers: Callers,
    meter: Arc<EndpointMeter>,
    metrics: Arc<Metrics>,
    settings: InferenceSettings,
    /// What this instance answered per deployment since it last wrote it (for
    /// `deployment.metrics`), and this instance's id as their writer.
    windows: Mutex<HashMap<(OrgId, DeploymentId), Window>>,
    instance: uuid::Uuid,
}

/// A request let through: who called, and the deployment as it serves.
struct Admitted {
    caller: Caller,
    served: Arc<Served>,
    metadata: Arc<ExportMetadata>,
}

impl Inference {
    pub fn new(
        domain: Arc<Domain>,
        local: Option<Arc<LocalReplicas>>,
        remote: RemoteReplicas,
        meter: Arc<EndpointMeter>,
        metrics: Arc<Metrics>,
        settings: InferenceSettings,
    ) -> Self {
        let gateway = Gateway::new(domain.clone(), local, remote, settings.cold_start_wait);
        Self {
            domain,
            gateway,
            callers: Callers::default(),
            meter,
            metrics,
            settings,
            windows: Mutex::default(),
            instance: uuid::Uuid::now_v7(),
        }
    }

    async fn admit(&self, req: &HttpRequest, id: &str) -> Result<Admitted, Refusal> {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "send `Authorization: Bearer <deployment key or API token>`",
                )
            })?;
        let addr = crate::http::client_addr(req, self.settings.trust_forwarded_for);
        let caller = self
            .callers
            .authenticate(&self.domain, bearer, addr)
            .await
            .map_err(|error| match error {
                Error::Unauthenticated => Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "the key or token is unknown, revoked or expired",
                ),
                other => other.into(),
            })?;
        let not_found = || Refusal::from(Error::NotFound("deployment"));
        let id = DeploymentId::parse(id).ok_or_else(not_found)?;
        let served = self.gateway.served(id).await?.ok_or_else(not_found)?;
        caller.may_call(&served.deployment)?;
        if let Caller::Key(key) = &caller
            && let Some(per_second) = key.requests_per_second
            && let Err(wait) = self.callers.take(key.id, per_second)
        {
            return Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!("the key allows {per_second} requests per second"),
            )
            .retry_after(wait.as_secs_f64().ceil() as u64));
        }
        let metadata = self.gateway.check_serving(&served)?;
        match self.meter.admit(served.deployment.org_id).await {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => {
                return Err(Refusal {
                    quota: Some(refused.quota),
                    ..Refusal::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "QUOTA_EXCEEDED",
                        refused.message,
                    )
                }
                .retry_after(60));
            }
            Err(error) => return Err(Refusal::from(ApiBilling(error))),
        }
        Ok(Admitted {
            caller,
            served,
            metadata,
        })
    }

    /// Counts `images` answered for the ledger.
    fn count(&self, admitted: &Admitted, images: usize) {
        let deployment = &admitted.served.deployment;
        let metered = Metered {
            org_id: deployment.org_id,
            project_id: deployment.project_id,
            deployment_id: deployment.id,
            key_id: match &admitted.caller {
                Caller::Key(key) => Some(key.id),
                Caller::Member(_) => None,
            },
        };
        self.meter
            .count(metered, i64::try_from(images).unwrap_or(i64::MAX));
    }

    async fn infer_image(
        &self,
        req: &HttpRequest,
        id: &str,
        payload: web::Payload,
    ) -> Result<serde_json::Value, Refusal> {
        let admitted = self.admit(req, id).await?;
        let limit = limit(req, &admitted.metadata)?;
        let image = images::image_of(req, payload, self.settings.max_request_bytes).await?;
        let metadata = Arc::clone(&admitted.metadata);
        let prepared = tokio::task::spawn_blocking(move || metadata.prepare(&image))
            .await
            .map_err(|_| {
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "reading the image crashed",
                )
            })??;
        let rows = self
            .gateway
            .run(&admitted.served, vec![prepared.input])
            .await?;
        let row = rows.first().ok_or_else(|| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the replica answered nothing",
            )
        })?;
        let predictions = admitted.metadata.predictions(row, &prepared.frame, limit)?;
        self.count(&admitted, 1);
        Ok(json!({
            "deployment_id": admitted.served.deployment.id,
            "task_type": admitted.metadata.task.name(),
            "image": {"width": prepared.frame.width, "height": prepared.frame.height},
            "predictions": predictions,
        }))
    }

    /// Records one answer (or refusal) in `/metrics` and in the deployment's metrics, when
    /// the deployment exists.
    fn observe(&self, id: &str, outcome: Result<(), &Refusal>, elapsed: Duration) {
        let class = outcome.err().map_or("ok", Refusal::class);
        let known = DeploymentId::parse(id)
            .and_then(|deployment| Some((self.gateway.org_of(deployment)?, deployment)));
        let Some(key) = known else {
            self.metrics.observe_inference("unknown", class, elapsed);
            return;
        };
        self.metrics.observe_inference(id, class, elapsed);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.entry(key).or_default().request(class, elapsed);
    }

    /// Writes the counted requests to the ledger and what this instance answered to the
    /// deployments' metrics.
    async fn flush(&self) {
        if let Err(error) = self.meter.flush().await {
            tracing::warn!(error = %error, "endpoint requests not metered yet; trying again at the next flush");
        }
        let windows: Vec<_> = {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            windows.drain().collect()
        };
        if !windows.is_empty()
            && let Err(error) = self
                .domain
                .record_deployment_windows(SampleSource::Endpoint, self.instance, windows)
                .await
        {
            tracing::warn!(error = %error, "deployment metrics of this interval were not written");
        }
    }

    /// Updates the replica gauges of `/metrics` from this process's replicas.
    pub fn refresh_gauges(&self) {
        if let Some(local) = self.gateway.local() {
            self.metrics.observe_replicas(&local.all());
        }
    }

    /// Flushes (ledger and metrics) every `interval` until `shutdown`, and once more then.
    pub async fn meter_until(
        &self,
        interval: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => break,
            }
            self.flush().await;
        }
        self.flush().await;
    }
}

/// A billing failure while admitting is the platform's.
struct ApiBilling(keynet_billing::Error);

impl From<ApiBilling> for Refusal {
    fn from(ApiBilling(error): ApiBilling) -> Self {
        match error {
            keynet_billing::Error::Domain(error) => error.into(),
            other => Error::Internal(anyhow::anyhow!("{other}")).into(),
        }
    }
}

/// How many predictions to answer (`?top_k=`): classes, from 1 to the model's (5 unless
/// asked); boxes, at most that many of those above the score threshold (all unless asked).
fn limit(req: &HttpRequest, metadata: &ExportMetadata) -> Result<usize, Refusal> {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map_err(|e| Refusal::bad_input("query", e.to_string()))?;
    let (default, most, unit) = match metadata.task {
        Task::Classification => {
            let classes = metadata.classes.len();
            (DEFAULT_TOP_K.min(classes), classes, "the model's classes")
        }
        Task::Detection => (MAX_BOXES, MAX_BOXES, "boxes"),
    };
    match query.get("top_k") {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(k) if (1..=most).contains(&k) => Ok(k),
            _ => Err(Refusal::bad_input(
                "top_k",
                format!("must be a whole number from 1 to {most} ({unit})"),
            )),
        },
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/infer/{deployment}", web::post().to(infer))
        .configure(oip::routes);
}

async fn infer(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<crate::http::AppState>,
) -> HttpResponse {
    let inference = &state.inference;
    let started = Instant::now();
    let answered = inference.infer_image(&req, &id, payload).await;
    inference.observe(&id, answered.as_ref().map(|_| ()), started.elapsed());
    match answered {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(refusal) => refusal.keynet(),
    }
}
