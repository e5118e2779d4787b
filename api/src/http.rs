//! The HTTP surface: `/graphql` (POST; GraphiQL on GET is in `pages`), `/graphql/ws`
//! subscriptions, Stripe's webhooks, deployments' endpoints, health, readiness and metrics. Authentication happens
//! once here, at the edge.

use crate::error::{code, http_error};
use crate::graphql::KeynetSchema;
use crate::graphql::context::RequestMeta;
use crate::graphql::live::Bearer;
use crate::graphql::loaders::{NotesLoader, TrainerFieldsLoader, UserLoader};
use crate::metrics::Metrics;
use crate::settings::ApiLimits;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::dataloader::DataLoader;
use async_graphql_actix_web::GraphQLSubscription;
use futures_util::StreamExt;
use keynet_billing::Billing;
use keynet_domain::{Domain, Error, Viewer};
use keynet_marketplace::Marketplace;
use sea_orm::ConnectionTrait;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

pub struct AppState {
    pub domain: Arc<Domain>,
    pub marketplace: Arc<Marketplace>,
    pub billing: Arc<Billing>,
    pub schema: KeynetSchema,
    pub metrics: Arc<Metrics>,
    pub limits: ApiLimits,
    pub trust_forwarded_for: bool,
    /// Set when blobs are on the local filesystem: Keynet serves their signed URLs.
    pub local_store: Option<Arc<keynet_storage::LocalStore>>,
    /// Deployments' endpoints.
    pub inference: Arc<crate::inference::Inference>,
    pub console: crate::console::Console,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql/ws", web::get().to(subscriptions))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/webhooks/stripe", web::post().to(crate::webhooks::stripe))
        .configure(crate::pages::routes)
        .configure(crate::rest::routes)
        .configure(crate::registry::routes)
        .configure(crate::inference::routes)
        .configure(crate::inference::internal::routes)
        .configure(crate::console::routes)
        .default_service(web::to(crate::console::fallback));
}

pub(crate) const REQUEST_ID: &str = "x-request-id";

#[derive(Clone)]
pub struct RequestId(pub String);

/// Gives every request an id (the caller's, if it sent a sane one), a tracing span carrying
/// it, an `x-request-id` response header, and a line in the HTTP metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("http", request_id = %request_id, %method, path = %req.path());
    let started = Instant::now();
    let mut response = next.call(req).instrument(span).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
    if let Some(metrics) = metrics {
        metrics.observe_http(
            &method,
            &route,
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(response)
}

/// Per request (or per subscription connection), so nothing cached crosses requests.
fn user_loader(domain: &Domain) -> DataLoader<UserLoader> {
    DataLoader::new(UserLoader(domain.db().clone()), tokio::spawn)
}

fn trainer_fields_loader(marketplace: &Arc<Marketplace>) -> DataLoader<TrainerFieldsLoader> {
    DataLoader::new(TrainerFieldsLoader(marketplace.clone()), tokio::spawn)
}

fn notes_loader(domain: &Arc<Domain>, viewer: Option<&Viewer>) -> DataLoader<NotesLoader> {
    let orgs = viewer.map(Viewer::visible_orgs).unwrap_or_default();
    DataLoader::new(
        NotesLoader {
            domain: domain.clone(),
            orgs,
        },
        tokio::spawn,
    )
}

pub(crate) fn client_addr(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for && let Some(forwarded) = req.connection_info().realip_remote_addr() {
        // The proxy may append a port; keep the address only.
        let addr = forwarded
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| forwarded.to_string());
        return Some(addr);
    }
    req.peer_addr().map(|addr| addr.ip().to_string())
}

/// The viewer behind `Authorization: Bearer …`, or none. A credential that is sent but
/// refused is remembered, so operations answer "invalid or expired" rather than "sign in".
pub(crate) async fn authenticate(
    domain: &Domain,
    authorization: Option<&str>,
    client_addr: Option<String>,
) -> Result<(Option<Viewer>, RequestMeta), Error> {
    let mut meta = RequestMeta {
        client_addr: client_addr.clone(),
        credential_refused: false,
    };
    let Some(authorization) = authorization else {
        return Ok((None, meta));
    };
    let token = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        meta.credential_refused = true;
        return Ok((None, meta));
    };
    match domain.authenticate(token, client_addr).await {
        Ok(viewer) => Ok((Some(viewer), meta)),
        Err(Error::Unauthenticated) => {
            meta.credential_refused = true;
            Ok((None, meta))
        }
        Err(other) => Err(other),
    }
}

/// Why a request body was not read.
pub(crate) enum BodyError {
    TooLarge(usize),
    Broken(String),
}

impl BodyError {
    pub(crate) fn response(&self) -> HttpResponse {
        match self {
            BodyError::TooLarge(limit) => http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &format!("the request body is larger than {limit} bytes"),
            ),
            BodyError::Broken(reason) => http_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("cannot read the request body: {reason}"),
            ),
        }
    }
}

/// The request body, at most `limit` bytes (refused from `Content-Length` before a byte is
/// read, when it says so); a refusal is the response to send.
pub(crate) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, HttpResponse> {
    read_limited(req, payload, limit)
        .await
        .map_err(|error| error.response())
}

/// [`read_body`] with the reason kept, for endpoints that answer in their own format.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn graphql(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = match read_body(&req, payload, state.limits.max_body_bytes).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!(
                    "the body is not a GraphQL request in JSON ({{\"query\": …, \"variables\": …}}): {e}"
                ),
            );
        }
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (viewer, meta) = match authenticate(
        &state.domain,
        authorization,
        client_addr(&req, state.trust_forwarded_for),
    )
    .await
    {
        Ok(found) => found,
        Err(error) => {
            let code = code(&error);
            let gql: async_graphql::Error = crate::error::ApiError::from(error).into();
            return http_error(StatusCode::INTERNAL_SERVER_ERROR, code, &gql.message);
        }
    };
    if request.query.trim().is_empty() {
        return http_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the request has no query",
        );
    }
    let mut request = request
        .data(meta)
        .data(user_loader(&state.domain))
        .data(notes_loader(&state.domain, viewer.as_ref()))
        .data(trainer_fields_loader(&state.marketplace));
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let mut response = state.schema.execute(request).await;
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            // Only async-graphql's own checks (syntax, validation, limits, argument types)
            // produce errors without a code; ours always carry one.
            let code = if error.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            extensions.set("code", code);
        }
        if let Some(id) = &request_id {
            extensions.set("requestId", id.as_str());
        }
    }
    HttpResponse::Ok().json(response)
}

/// graphql-transport-ws. The token comes in `connection_init` as `{"token": "…"}` or
/// `{"Authorization": "Bearer …"}`; an invalid one closes the connection.
async fn subscriptions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let domain = state.domain.clone();
    let marketplace = state.marketplace.clone();
    let addr = client_addr(&req, state.trust_forwarded_for);
    GraphQLSubscription::new(state.schema.clone())
        .on_connection_init(move |init| async move {
            let token = init
                .get("token")
                .and_then(|v| v.as_str())
                .map(|t| format!("Bearer {t}"))
                .or_else(|| {
                    ["Authorization", "authorization"]
                        .iter()
                        .find_map(|key| init.get(*key).and_then(|v| v.as_str()).map(str::to_string))
                });
            let bearer = token
                .as_deref()
                .and_then(|t| t.strip_prefix("Bearer "))
                .map(|t| Bearer(t.trim().to_string()));
            let (viewer, meta) = authenticate(&domain, token.as_deref(), addr)
                .await
                .map_err(|_| async_graphql::Error::new("internal error"))?;
            if meta.credential_refused {
                return Err(async_graphql::Error::new("the token is invalid or expired"));
            }
            let mut data = async_graphql::Data::default();
            data.insert(meta);
            data.insert(user_loader(&domain));
            data.insert(notes_loader(&domain, viewer.as_ref()));
            data.insert(trainer_fields_loader(&marketplace));
            if let Some(viewer) = viewer {
                data.insert(viewer);
            }
            if let Some(bearer) = bearer {
                data.insert(bearer);
            }
            Ok(data)
        })
        .start(&req, payload)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.domain.db();
    match db.execute_unprepared("SELECT 1").await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ready", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.inference.refresh_gauges();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
