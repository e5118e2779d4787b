//! The Open Inference Protocol (KServe v2, Triton's HTTP/REST API) under `/oip`: server
//! health and metadata, and per model (the deployment's id as its name) readiness, metadata
//! and inference, with or without a version in the path. The registry owns `/v2/` on this
//! port, so clients are pointed at `host:port/oip` (tritonclient takes a base path in its
//! URL). The codec (requests with JSON or binary tensors, answers likewise) is
//! `keynet_serving::oip`; admission is the same as `/v1/infer`.

use super::Inference;
use super::refusal::Refusal;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keynet_domain::entities::deployments::DeploymentStatus;
use keynet_serving::oip;
use serde_json::json;
use std::time::Instant;

const BINARY_HEADER: &str = "inference-header-content-length";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oip/v2", web::get().to(server_metadata))
        .route("/oip/v2/health/live", web::get().to(live))
        .route("/oip/v2/health/ready", web::get().to(live))
        .route("/oip/v2/models/{name}", web::get().to(model_metadata))
        .route(
            "/oip/v2/models/{name}/versions/{version}",
            web::get().to(model_metadata),
        )
        .route("/oip/v2/models/{name}/ready", web::get().to(model_ready))
        .route(
            "/oip/v2/models/{name}/versions/{version}/ready",
            web::get().to(model_ready),
        )
        .route("/oip/v2/models/{name}/infer", web::post().to(infer))
        .route(
            "/oip/v2/models/{name}/versions/{version}/infer",
            web::post().to(infer),
        );
}

async fn server_metadata() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "name": "keynet",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"live": true, "ready": true}))
}

/// The model a route names (`{name}`), refused when its path names a version other than
/// `1`, the one version every model has. Both route shapes (with and without
/// `/versions/{version}`) share one handler.
fn model_of(req: &HttpRequest) -> Result<String, Refusal> {
    let info = req.match_info();
    if let Some(version) = info.get("version")
        && version != "1"
    {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("the model has version 1 only, not {version}"),
        ));
    }
    Ok(info.get("name").unwrap_or_default().to_string())
}

async fn model_metadata(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let answered = async {
        let name = model_of(&req)?;
        let admitted = state.inference.admit(&req, &name).await?;
        Ok::<_, Refusal>(HttpResponse::Ok().json(oip::model_metadata(&name, &admitted.metadata)))
    };
    answered.await.unwrap_or_else(|refusal| refusal.oip())
}

/// 200 while a replica answers; 503 (with the reason) while it starts or is scaled to zero.
async fn model_ready(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let answered = async {
        let name = model_of(&req)?;
        let admitted = state.inference.admit(&req, &name).await?;
        match admitted.served.deployment.status {
            DeploymentStatus::Ready => {
                Ok(HttpResponse::Ok().json(json!({"name": name, "ready": true})))
            }
            status => Err(Refusal::unavailable(
                format!(
                    "the deployment is {}; the next inference request starts a replica",
                    if status == DeploymentStatus::ScaledToZero {
                        "scaled to zero"
                    } else {
                        "starting"
                    }
                ),
                2,
            )),
        }
    };
    answered.await.unwrap_or_else(|refusal| refusal.oip())
}

async fn infer(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match model_of(&req) {
        Ok(name) => answer(&req, &name, payload, &state.inference).await,
        Err(refusal) => refusal.oip(),
    }
}

async fn answer(
    req: &HttpRequest,
    name: &str,
    payload: web::Payload,
    inference: &Inference,
) -> HttpResponse {
    let started = Instant::now();
    let answered = run(req, name, payload, inference).await;
    inference.observe(name, answered.as_ref().map(|_| ()), started.elapsed());
    match answered {
        Ok(response) => response,
        Err(refusal) => refusal.oip(),
    }
}

async fn run(
    req: &HttpRequest,
    name: &str,
    payload: web::Payload,
    inference: &Inference,
) -> Result<HttpResponse, Refusal> {
    let admitted = inference.admit(req, name).await?;
    let json_length = match req.headers().get(BINARY_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    Refusal::bad_input("Inference-Header-Content-Length", "must be a byte count")
                })?,
        ),
    };
    let body =
        crate::http::read_limited(req, payload, inference.settings.max_request_bytes).await?;
    let mut request = oip::read_infer_request(&body, json_length, &admitted.metadata)?;
    let inputs = std::mem::take(&mut request.inputs);
    let images = inputs.len();
    let rows = inference.gateway.run(&admitted.served, inputs).await?;
    inference.count(&admitted, images);
    let encoded = oip::write_infer_response(name, &request, &rows, &admitted.metadata);
    let mut response = HttpResponse::Ok();
    match encoded.json_length {
        Some(length) => {
            response
                .content_type("application/octet-stream")
                .insert_header((BINARY_HEADER, length.to_string()));
        }
        None => {
            response.content_type("application/json");
        }
    }
    Ok(response.body(encoded.body))
}
