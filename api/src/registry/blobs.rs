//! Blob endpoints: uploads (monolithic, chunked, resumable), reads and unlinking.

use super::{access, head_response, registry_error, with_api_version};
use crate::http::AppState;
use crate::rest::relay;
use actix_web::body::SizedStream;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use keynet_marketplace::entities::registry_uploads;
use keynet_marketplace::registry::{Action, BLOB_READ_CHUNK, Digest, RepositoryAccess};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

#[derive(Deserialize)]
pub struct StartQuery {
    digest: Option<String>,
    mount: Option<String>,
    from: Option<String>,
}

#[derive(Deserialize)]
pub struct FinishQuery {
    digest: Option<String>,
}

/// `POST …/blobs/uploads/`: a mount (`?mount=&from=`), a whole blob (`?digest=` with the
/// body), or the start of an upload.
pub async fn start_upload(
    req: HttpRequest,
    query: web::Query<StartQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    if let (Some(mount), Some(from)) = (&query.mount, &query.from)
        && let Some(response) = try_mount(&req, &state, &target, mount, from).await
    {
        return response;
    }
    let upload = match state.marketplace.start_blob_upload(&target).await {
        Ok(upload) => upload,
        Err(error) => return registry_error(None, &error),
    };
    match &query.digest {
        Some(digest) => finish(&state, &target, &upload.id.to_string(), digest, payload).await,
        None => upload_accepted(&target, &upload),
    }
}

/// A mount the caller may do; `None` lets the client upload instead (the spec's fallback).
async fn try_mount(
    req: &HttpRequest,
    state: &AppState,
    target: &RepositoryAccess,
    mount: &str,
    from: &str,
) -> Option<HttpResponse> {
    let digest = Digest::parse(mount).ok()?;
    let source = state
        .marketplace
        .registry_access(super::bearer(req), from, Action::Pull)
        .await
        .ok()?;
    match state.marketplace.mount_blob(target, &source, &digest).await {
        Ok(Some(_)) => Some(blob_created(target, &digest)),
        Ok(None) => None,
        Err(error) => Some(registry_error(None, &error)),
    }
}

/// `PATCH …/blobs/uploads/{upload}`: one more chunk.
pub async fn append_chunk(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    let start = match content_range_start(&req) {
        Ok(start) => start,
        Err(error) => return registry_error(None, &error),
    };
    let upload = upload_id(&req);
    let appended = relay(payload, |body| {
        state
            .marketplace
            .append_blob_upload(&target, &upload, start, body)
    })
    .await;
    match appended {
        Ok(upload) => upload_accepted(&target, &upload),
        Err(error) => registry_error(None, &error),
    }
}

/// `PUT …/blobs/uploads/{upload}?digest=`: the last chunk, if any, and the digest.
pub async fn finish_upload(
    req: HttpRequest,
    query: web::Query<FinishQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    let Some(digest) = &query.digest else {
        return registry_error(
            None,
            &keynet_marketplace::Error::Registry {
                code: keynet_marketplace::registry::RegistryCode::DigestInvalid,
                message: "finishing an upload needs ?digest=sha256:…".into(),
            },
        );
    };
    finish(&state, &target, &upload_id(&req), digest, payload).await
}

async fn finish(
    state: &AppState,
    target: &RepositoryAccess,
    upload: &str,
    digest: &str,
    payload: web::Payload,
) -> HttpResponse {
    let digest = match Digest::parse(digest) {
        Ok(digest) => digest,
        Err(error) => return registry_error(None, &error),
    };
    let appended = relay(payload, |body| {
        state
            .marketplace
            .append_blob_upload(target, upload, None, body)
    })
    .await;
    if let Err(error) = appended {
        return registry_error(None, &error);
    }
    match state
        .marketplace
        .finish_blob_upload(target, upload, &digest)
        .await
    {
        Ok(_) => blob_created(target, &digest),
        Err(error) => registry_error(None, &error),
    }
}

/// `GET …/blobs/uploads/{upload}`: where a resumable upload stands.
pub async fn upload_status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    match state
        .marketplace
        .blob_upload(&target, &upload_id(&req))
        .await
    {
        Ok(upload) => {
            let mut response = upload_headers(HttpResponse::NoContent(), &target, &upload);
            response.finish()
        }
        Err(error) => registry_error(None, &error),
    }
}

pub async fn cancel_upload(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    match state
        .marketplace
        .cancel_blob_upload(&target, &upload_id(&req))
        .await
    {
        Ok(()) => with_api_version(HttpResponse::NoContent()).finish(),
        Err(error) => registry_error(None, &error),
    }
}

/// `GET`/`HEAD …/blobs/{digest}`.
pub async fn fetch(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let source = match access(&req, &state, Action::Pull).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    let digest = match path_digest(&req) {
        Ok(digest) => digest,
        Err(error) => return registry_error(None, &error),
    };
    let blob = match state.marketplace.registry_blob(&source, &digest).await {
        Ok(blob) => blob,
        Err(error) => return registry_error(None, &error),
    };
    let mut response = with_api_version(HttpResponse::Ok());
    response
        .content_type("application/octet-stream")
        .insert_header(("Docker-Content-Digest", digest.as_str()))
        .insert_header((header::ETAG, format!("\"{digest}\"")));
    let size = blob.size as u64;
    if req.method() == Method::HEAD {
        return head_response(response, size);
    }
    match state.marketplace.open_registry_blob(&blob).await {
        Ok(reader) => response.body(SizedStream::new(
            size,
            ReaderStream::with_capacity(reader, BLOB_READ_CHUNK).boxed_local(),
        )),
        Err(error) => registry_error(None, &error),
    }
}

/// `DELETE …/blobs/{digest}`.
pub async fn unlink(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let target = match access(&req, &state, Action::Delete).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    let digest = match path_digest(&req) {
        Ok(digest) => digest,
        Err(error) => return registry_error(None, &error),
    };
    match state
        .marketplace
        .unlink_registry_blob(&target, &digest)
        .await
    {
        Ok(()) => with_api_version(HttpResponse::Accepted()).finish(),
        Err(error) => registry_error(None, &error),
    }
}

/// The `{digest}` of the path.
fn path_digest(req: &HttpRequest) -> keynet_marketplace::Result<Digest> {
    Digest::parse(req.match_info().get("digest").unwrap_or_default())
}

fn upload_id(req: &HttpRequest) -> String {
    req.match_info()
        .get("upload")
        .unwrap_or_default()
        .to_string()
}

/// The start of `Content-Range: <start>-<end>` (Docker also sends `bytes <start>-<end>/*`
/// forms in some versions, so a `bytes ` prefix is accepted).
fn content_range_start(req: &HttpRequest) -> keynet_marketplace::Result<Option<u64>> {
    let Some(value) = req.headers().get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let parsed = value
        .to_str()
        .ok()
        .map(|v| {
            v.trim()
                .trim_start_matches("bytes ")
                .trim_start_matches("bytes=")
        })
        .and_then(|v| v.split('/').next())
        .and_then(|v| v.split_once('-'))
        .and_then(|(start, end)| Some((start.parse::<u64>().ok()?, end.parse::<u64>().ok()?)))
        .filter(|(start, end)| start <= end);
    match parsed {
        Some((start, _)) => Ok(Some(start)),
        None => Err(keynet_marketplace::Error::Registry {
            code: keynet_marketplace::registry::RegistryCode::RangeInvalid,
            message: format!("Content-Range {value:?} is not <start>-<end>"),
        }),
    }
}

fn upload_headers(
    builder: actix_web::HttpResponseBuilder,
    target: &RepositoryAccess,
    upload: &registry_uploads::Model,
) -> actix_web::HttpResponseBuilder {
    let mut builder = with_api_version(builder);
    builder
        .insert_header((
            header::LOCATION,
            format!("/v2/{}/blobs/uploads/{}", target.name, upload.id),
        ))
        // The spec's inclusive range of bytes received; `0-0` before the first one.
        .insert_header((header::RANGE, format!("0-{}", (upload.size - 1).max(0))))
        .insert_header(("Docker-Upload-UUID", upload.id.to_string()));
    builder
}

fn upload_accepted(target: &RepositoryAccess, upload: &registry_uploads::Model) -> HttpResponse {
    upload_headers(HttpResponse::Accepted(), target, upload).finish()
}

fn blob_created(target: &RepositoryAccess, digest: &Digest) -> HttpResponse {
    with_api_version(HttpResponse::Created())
        .insert_header((
            header::LOCATION,
            format!("/v2/{}/blobs/{digest}", target.name),
        ))
        .insert_header(("Docker-Content-Digest", digest.as_str()))
        .finish()
}
