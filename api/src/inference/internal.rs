//! Replicas across hosts. A worker host (`keynet worker` with `serving.bind`) serves its
//! replicas on an internal address; API instances without a replica of their own forward
//! the prepared inputs there. The wire is small and fixed: the inputs as little-endian f32,
//! one after another (`x-keynet-inputs` says how many), answered the same way
//! (`x-keynet-rows`); errors as JSON `{code, message, field}` with the status the endpoint
//! then gives its caller. A shared secret derived from the platform's JWT secret (the one
//! every instance of a platform must share) authenticates API instances to hosts. A
//! `keynet serve` with workers serves its own replicas on its main port the same way.

use super::expiring::Expiring;
use super::refusal::Refusal;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keynet_domain::Domain;
use keynet_domain::entities::deployment_replicas::{self, ReplicaStatus};
use keynet_domain::ids::DeploymentId;
use keynet_workers::serving::LocalReplicas;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const INPUTS: &str = "x-keynet-inputs";
/// The largest forwarded request: a full Open Inference Protocol batch of large images.
const MAX_INPUTS_BYTES: usize = 256 << 20;
const ROWS: &str = "x-keynet-rows";
/// How long the list of a deployment's remote replicas is trusted.
const ADDRESSES_TTL: Duration = Duration::from_secs(1);

/// The secret API instances present to worker hosts.
pub fn internal_secret(jwt_secret: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"keynet internal replicas\0");
    hasher.update(jwt_secret);
    hex::encode(hasher.finalize())
}

fn encode(rows: &[Vec<f32>]) -> Vec<u8> {
    rows.iter()
        .flatten()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

fn decode(bytes: &[u8], count: usize) -> Option<Vec<Vec<f32>>> {
    if count == 0 || !bytes.len().is_multiple_of(4 * count) {
        return None;
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let per_row = values.len() / count;
    Some(values.chunks(per_row).map(<[f32]>::to_vec).collect())
}

/// The client side: replicas of other hosts.
pub struct RemoteReplicas {
    http: reqwest::Client,
    secret: String,
    addresses: Expiring<DeploymentId, Vec<String>>,
    next: AtomicUsize,
}

impl RemoteReplicas {
    pub fn new(secret: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            secret,
            addresses: Expiring::new(ADDRESSES_TTL),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `inputs` on a remote replica; `None` when the deployment has no reachable one.
    pub async fn run(
        &self,
        domain: &Domain,
        deployment: DeploymentId,
        inputs: &[Vec<f32>],
    ) -> Result<Option<Vec<Vec<f32>>>, Refusal> {
        let addresses = self.addresses(domain, deployment).await?;
        if addresses.is_empty() {
            return Ok(None);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let body = encode(inputs);
        for offset in 0..addresses.len() {
            let address = &addresses[(start + offset) % addresses.len()];
            let sent = self
                .http
                .post(format!("{address}/internal/v1/replicas/{deployment}/infer"))
                .bearer_auth(&self.secret)
                .header(INPUTS, inputs.len())
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) => return answer(response, inputs.len()).await.map(Some),
                Err(error) => {
                    // The host is gone (killed, restarting): try another; its rows go when
                    // its lease runs out.
                    tracing::warn!(error = %error.without_url(), "a replica's host does not answer");
                    self.forget(deployment);
                }
            }
        }
        Ok(None)
    }

    async fn addresses(
        &self,
        domain: &Domain,
        deployment: DeploymentId,
    ) -> Result<Vec<String>, Refusal> {
        if let Some(addresses) = self.addresses.get(&deployment) {
            return Ok(addresses);
        }
        let rows: Vec<deployment_replicas::Model> = domain.replicas_of(deployment).await?;
        let addresses: Vec<String> = rows
            .into_iter()
            .filter(|row| row.status == ReplicaStatus::Ready)
            .filter_map(|row| row.address)
            .collect();
        self.addresses.put(deployment, addresses.clone());
        Ok(addresses)
    }

    fn forget(&self, deployment: DeploymentId) {
        self.addresses.forget(&deployment);
    }
}

async fn answer(response: reqwest::Response, count: usize) -> Result<Vec<Vec<f32>>, Refusal> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        Refusal::unavailable(
            format!("the replica's answer broke off: {}", e.without_url()),
            1,
        )
    })?;
    if status.is_success() {
        return decode(&bytes, count).ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "INTERNAL",
                "a replica answered with a malformed body",
            )
        });
    }
    #[derive(serde::Deserialize)]
    struct Wire {
        code: String,
        message: String,
        field: Option<String>,
    }
    let wire: Option<Wire> = serde_json::from_slice(&bytes).ok();
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    Err(match wire {
        Some(wire) => Refusal {
            field: wire.field,
            ..Refusal::new(status, static_code(&wire.code), wire.message)
        },
        None => Refusal::new(status, "INTERNAL", "a replica failed"),
    })
}

/// The codes a host sends, as the endpoint's own.
fn static_code(code: &str) -> &'static str {
    match code {
        "BAD_USER_INPUT" => "BAD_USER_INPUT",
        "UNAVAILABLE" => "UNAVAILABLE",
        "CONFLICT" => "CONFLICT",
        _ => "INTERNAL",
    }
}

/// The host side: `POST /internal/v1/replicas/{deployment}/infer`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/v1/replicas/{deployment}/infer")
            .app_data(web::PayloadConfig::new(MAX_INPUTS_BYTES))
            .route(web::post().to(serve)),
    );
}

/// What a host's internal server holds.
pub struct HostState {
    pub replicas: Arc<LocalReplicas>,
    pub secret: String,
}

async fn serve(
    req: HttpRequest,
    deployment: web::Path<String>,
    body: web::Bytes,
    state: Option<web::Data<HostState>>,
) -> HttpResponse {
    // An API instance without workers holds no replicas: as if the route did not exist.
    let Some(state) = state else {
        return crate::error::http_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint");
    };
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let authorized =
        presented.is_some_and(|p| keynet_domain::auth::secrets::hashes_match(p, &state.secret));
    if !authorized {
        return wire_error(&Refusal::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "not an instance of this platform",
        ));
    }
    let count = req
        .headers()
        .get(INPUTS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let (Ok(deployment), Some(inputs)) = (deployment.parse::<DeploymentId>(), decode(&body, count))
    else {
        return wire_error(&Refusal::bad_input("inputs", "malformed inputs"));
    };
    let Some(replica) = state.replicas.pick(deployment) else {
        // Dropped since the caller read the rows: it tries another host or waits.
        return wire_error(&Refusal::unavailable("no replica of it here any more", 1));
    };
    match replica.infer(inputs).await {
        Ok(rows) => HttpResponse::Ok()
            .insert_header((ROWS, rows.len().to_string()))
            .body(encode(&rows)),
        Err(error) => wire_error(&Refusal::from(error)),
    }
}

fn wire_error(refusal: &Refusal) -> HttpResponse {
    HttpResponse::build(refusal.status).json(serde_json::json!({
        "code": refusal.code,
        "message": refusal.message,
        "field": refusal.field,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_cross_the_wire_unchanged() {
        let rows = vec![vec![0.5, -1.25, 3.0], vec![f32::MIN_POSITIVE, 0.0, 7.5]];
        assert_eq!(decode(&encode(&rows), 2), Some(rows));
        assert_eq!(decode(&[0, 0, 0], 1), None);
        assert_eq!(decode(&[], 0), None);
    }
}
