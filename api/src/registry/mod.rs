//! The OCI distribution API (`/v2/`) and its token endpoint: HTTP only. What may be
//! stored, who may do what and every check are in `keynet_marketplace::registry`; this module
//! turns requests into those calls and their outcomes into the statuses, headers and error
//! bodies registry clients (`docker`, `crane`, `oras`…) expect.

mod blobs;
mod manifests;
mod token;

use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use keynet_domain::Error as DomainError;
use keynet_marketplace::Error;
use keynet_marketplace::registry::{Action, RegistryCode, RepositoryAccess};
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    const NAME: &str = "/v2/{org}/{trainer}";
    cfg.route("/v2/", web::get().to(version_check))
        .route("/v2", web::get().to(version_check))
        .route("/v2/token", web::get().to(token::issue))
        .route(
            &format!("{NAME}/blobs/uploads/"),
            web::post().to(blobs::start_upload),
        )
        .service(
            web::resource(format!("{NAME}/blobs/uploads/{{upload}}"))
                .route(web::patch().to(blobs::append_chunk))
                .route(web::put().to(blobs::finish_upload))
                .route(web::get().to(blobs::upload_status))
                .route(web::delete().to(blobs::cancel_upload)),
        )
        .service(
            web::resource(format!("{NAME}/blobs/{{digest}}"))
                .route(web::get().to(blobs::fetch))
                .route(web::head().to(blobs::fetch))
                .route(web::delete().to(blobs::unlink)),
        )
        .service(
            web::resource(format!("{NAME}/manifests/{{reference}}"))
                .app_data(web::PayloadConfig::new(
                    keynet_marketplace::registry::MAX_MANIFEST_BYTES,
                ))
                .route(web::put().to(manifests::put))
                .route(web::get().to(manifests::fetch))
                .route(web::head().to(manifests::fetch))
                .route(web::delete().to(manifests::delete)),
        )
        .route(&format!("{NAME}/tags/list"), web::get().to(manifests::tags))
        .route(
            "/v2/{rest:.*}",
            web::route().to(|| async {
                registry_error(
                    None,
                    &Error::Registry {
                        code: RegistryCode::NameInvalid,
                        message: "repositories here are named <organization>/<trainer>".into(),
                    },
                )
            }),
        );
}

/// `GET /v2/`: 200 with a registry token, else the challenge that starts Docker's login.
async fn version_check(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match state.marketplace.verify_registry_token(bearer(&req)) {
        Ok(()) => with_api_version(HttpResponse::Ok()).json(json!({})),
        Err(error) => registry_error(Some((&req, None)), &error),
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The repository named in the path, if the request's token allows `action` on it.
async fn access(
    req: &HttpRequest,
    state: &AppState,
    action: Action,
) -> Result<RepositoryAccess, HttpResponse> {
    let name = repository(req);
    state
        .marketplace
        .registry_access(bearer(req), &name, action)
        .await
        .map_err(|error| registry_error(Some((req, Some((&name, action)))), &error))
}

fn repository(req: &HttpRequest) -> String {
    let info = req.match_info();
    format!(
        "{}/{}",
        info.get("org").unwrap_or_default(),
        info.get("trainer").unwrap_or_default()
    )
}

fn with_api_version(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header(("Docker-Distribution-API-Version", "registry/2.0"));
    builder
}

/// The answer to a `HEAD`: the headers of the `GET`, with the `Content-Length` of the body
/// it would send (clients read sizes from it) and no body.
fn head_response(mut builder: HttpResponseBuilder, size: u64) -> HttpResponse {
    let nothing = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
    builder.body(actix_web::body::SizedStream::new(size, nothing))
}

fn status(code: RegistryCode) -> StatusCode {
    use RegistryCode::*;
    match code {
        BlobUnknown | BlobUploadUnknown | ManifestUnknown | NameUnknown => StatusCode::NOT_FOUND,
        BlobUploadInvalid | DigestInvalid | ManifestBlobUnknown | ManifestInvalid | NameInvalid
        | SizeInvalid => StatusCode::BAD_REQUEST,
        RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
        TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Unauthorized => StatusCode::UNAUTHORIZED,
        Denied => StatusCode::FORBIDDEN,
        Unsupported => StatusCode::METHOD_NOT_ALLOWED,
    }
}

/// An error in the distribution spec's shape (`{"errors": [{code, message, detail}]}`).
/// A 401 carries the Bearer challenge naming the token endpoint and, when known, the
/// scope the request needs.
fn registry_error(
    challenge: Option<(&HttpRequest, Option<(&str, Action)>)>,
    error: &Error,
) -> HttpResponse {
    let (status, code, message) = match error {
        Error::Registry { code, message } => (status(*code), code.as_str(), message.clone()),
        Error::Domain(DomainError::Database(cause)) => {
            tracing::error!(error = %cause, "registry database error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "internal error".into(),
            )
        }
        Error::Domain(DomainError::Internal(cause)) => {
            tracing::error!(error = format!("{cause:#}"), "registry internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "internal error".into(),
            )
        }
        Error::Domain(other) => (StatusCode::BAD_REQUEST, "UNKNOWN", other.to_string()),
    };
    let mut response = with_api_version(HttpResponse::build(status));
    if status == StatusCode::UNAUTHORIZED
        && let Some((req, scope)) = challenge
    {
        let info = req.connection_info();
        let mut value = format!(
            "Bearer realm=\"{}://{}/v2/token\",service=\"{}\"",
            info.scheme(),
            info.host(),
            token::SERVICE
        );
        if let Some((name, action)) = scope {
            let actions = match action {
                Action::Pull => "pull",
                Action::Push => "pull,push",
                Action::Delete => "delete",
            };
            value.push_str(&format!(",scope=\"repository:{name}:{actions}\""));
        }
        response.insert_header((header::WWW_AUTHENTICATE, value));
    }
    response.json(json!({"errors": [{"code": code, "message": message, "detail": null}]}))
}
