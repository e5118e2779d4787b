//! REST endpoints beside GraphQL: the local blob store's signed URLs, the direct dataset
//! upload for scripts (`curl -F file=@data.zip`), trainer image archives pushed with an
//! upload key, and the trainers' HTTP event transport.

use crate::error::{http_error, rest_error};
use crate::http::{AppState, authenticate, client_addr};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use keynet_domain::Error as DomainError;
use keynet_domain::Viewer;
use keynet_domain::ids::{DatasetId, JobId, SnapshotId, TrainerVersionId};
use keynet_domain::storage::{ByteStream, StorageError};
use keynet_marketplace::ReportFormat;
use keynet_storage::{Error as StoreError, Method, content_disposition};
use serde_json::json;
use std::fmt::Display;
use tokio_util::io::ReaderStream;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/blobs/{key:.*}", web::get().to(download_blob))
        .route("/api/v1/blobs/{key:.*}", web::put().to(upload_blob))
        .route(
            "/api/v1/snapshots/{id}/archive",
            web::get().to(download_snapshot),
        )
        .route(
            "/api/v1/datasets/{id}/upload",
            web::post().to(upload_dataset),
        )
        .route(
            "/api/v1/trainer-versions/{id}/{report}",
            web::get().to(download_scan_report),
        )
        .route(
            "/api/v1/trainer-uploads/{key}/archive",
            web::post().to(upload_trainer_archive),
        )
        .service(
            web::resource("/api/v1/jobs/{id}/events")
                .app_data(web::PayloadConfig::new(MAX_EVENTS_BODY))
                .route(web::post().to(job_events)),
        );
}

/// A `docker save` or OCI layout tar pushed with an upload key (the key in the path is the
/// credential), for authors without a registry client.
async fn upload_trainer_archive(
    key: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let pushed = relay(payload, |body| state.marketplace.push_archive(&key, body)).await;
    match pushed {
        Ok(pushed) => HttpResponse::Created().json(json!({"digest": pushed.digest.as_str()})),
        Err(error) => rest_error(error),
    }
}

/// A batch of trainer events (the relay refuses more than 500 events of 64 KiB each anyway).
const MAX_EVENTS_BODY: usize = 8 << 20;

/// The trainer contract's HTTP transport: a JSON array of events, with the job's own token.
async fn job_events(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return rest_error(DomainError::Unauthenticated);
    };
    let Ok(job) = id.parse::<JobId>() else {
        return rest_error(DomainError::invalid("id", "not a valid job id"));
    };
    let events: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(events) => events,
        Err(e) => return rest_error(DomainError::invalid("body", format!("not JSON: {e}"))),
    };
    match state
        .domain
        .ingest_events_with_token(job, token, events)
        .await
    {
        Ok(report) => HttpResponse::Ok().json(json!({
            "stored": report.stored,
            "duplicates": report.duplicates,
            "rejected": report.rejected,
        })),
        Err(error) => rest_error(error),
    }
}

/// actix bodies are not `Send`; the storage port takes a `Send` stream. The body is read
/// here and its chunks passed through a small channel (which also applies backpressure).
pub(crate) async fn relay<S, E, F, T>(body: S, consume: impl FnOnce(ByteStream<'static>) -> F) -> T
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
    F: Future<Output = T>,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let feed = async move {
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    };
    let (_, result) = futures_util::join!(feed, consume(Box::pin(stream)));
    result
}

/// With S3, blobs are served by S3's own presigned URLs, not by Keynet.
fn no_local_store() -> HttpResponse {
    http_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "blobs are served by the S3 store",
    )
}

fn store_error(error: StoreError) -> HttpResponse {
    let (status, code) = match &error {
        StoreError::MalformedUrl(_) | StoreError::IncompleteUpload { .. } => {
            (StatusCode::BAD_REQUEST, "BAD_REQUEST")
        }
        StoreError::BadSignature | StoreError::ExpiredUrl => (StatusCode::FORBIDDEN, "FORBIDDEN"),
        StoreError::Storage(StorageError::TooLarge { .. }) => {
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
        }
        StoreError::Storage(StorageError::NotFound(_)) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        StoreError::Storage(StorageError::Backend(cause)) => {
            tracing::error!(error = format!("{cause:#}"), "blob store failed");
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            );
        }
        StoreError::Setting { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
    };
    http_error(status, code, &error.to_string())
}

async fn download_blob(
    req: HttpRequest,
    key: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(store) = state.local_store.as_ref() else {
        return no_local_store();
    };
    let signed = match store.verify(Method::Get, &key, req.query_string()) {
        Ok(signed) => signed,
        Err(error) => return store_error(error),
    };
    let (reader, size) = match store.open_with_size(&signed.key).await {
        Ok(opened) => opened,
        Err(error) => return store_error(StoreError::Storage(error)),
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/octet-stream")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("referrer-policy", "no-referrer"))
        .no_chunking(size);
    if let Some(filename) = &signed.filename {
        response.insert_header((header::CONTENT_DISPOSITION, content_disposition(filename)));
    }
    response.streaming(ReaderStream::new(reader))
}

async fn upload_blob(
    req: HttpRequest,
    key: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(store) = state.local_store.clone() else {
        return no_local_store();
    };
    let signed = match store.verify(Method::Put, &key, req.query_string()) {
        Ok(signed) => signed,
        Err(error) => return store_error(error),
    };
    let stored = relay(payload, |body| async move {
        store.receive_upload(&signed, body).await
    })
    .await;
    match stored {
        Ok(size) => HttpResponse::Ok().json(json!({"size": size})),
        Err(error) => store_error(error),
    }
}

/// `POST /api/v1/datasets/{id}/upload` with a multipart `file` field (a zip) and a bearer
/// token: stores the archive and queues its import. Answers 202 with the upload.
/// The caller, from the `Authorization` header (a session or an API token).
async fn viewer(req: &HttpRequest, state: &AppState) -> Result<Viewer, DomainError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match authenticate(
        &state.domain,
        authorization,
        client_addr(req, state.trust_forwarded_for),
    )
    .await?
    {
        (Some(viewer), _) => Ok(viewer),
        (None, meta) if meta.credential_refused => Err(DomainError::CredentialRejected),
        (None, _) => Err(DomainError::Unauthenticated),
    }
}

/// A version's scan report as a file: the SBOM (CycloneDX) or the findings (SARIF).
async fn download_scan_report(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let viewer = match viewer(&req, &state).await {
        Ok(viewer) => viewer,
        Err(error) => return rest_error(error),
    };
    let (id, kind) = path.into_inner();
    let Ok(version) = id.parse::<TrainerVersionId>() else {
        return rest_error(DomainError::invalid("id", "not a valid trainer version id"));
    };
    let format = match kind.as_str() {
        "sbom" => ReportFormat::CycloneDx,
        "sarif" => ReportFormat::Sarif,
        _ => return rest_error(DomainError::invalid("report", "sbom or sarif")),
    };
    match state
        .marketplace
        .scan_report_file(&viewer, version, format)
        .await
    {
        Ok((name, body)) => HttpResponse::Ok()
            .content_type(format.media_type())
            .insert_header((header::CONTENT_DISPOSITION, content_disposition(&name)))
            .body(body),
        Err(error) => rest_error(error),
    }
}

async fn upload_dataset(
    req: HttpRequest,
    id: web::Path<String>,
    mut multipart: Multipart,
    state: web::Data<AppState>,
) -> HttpResponse {
    let viewer = match viewer(&req, &state).await {
        Ok(viewer) => viewer,
        Err(error) => return rest_error(error),
    };
    let Ok(dataset) = id.parse::<DatasetId>() else {
        return rest_error(DomainError::invalid("id", "not a valid dataset id"));
    };
    while let Some(field) = multipart.next().await {
        let field = match field {
            Ok(field) => field,
            Err(e) => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    &format!("malformed multipart body: {e}"),
                );
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("upload.zip")
            .to_string();
        let domain = state.domain.clone();
        let uploaded = relay(field, |body| async move {
            domain
                .upload_dataset_archive(&viewer, dataset, &filename, body)
                .await
        })
        .await;
        return match uploaded {
            Ok(upload) => HttpResponse::Accepted().json(json!({
                "upload": {
                    "id": upload.id,
                    "datasetId": upload.dataset_id,
                    "filename": upload.filename,
                    "sizeBytes": upload.declared_size,
                    "status": "QUEUED",
                }
            })),
            Err(error) => rest_error(error),
        };
    }
    rest_error(DomainError::invalid(
        "file",
        "the multipart body has no `file` field",
    ))
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    token: Option<String>,
}

/// `GET /api/v1/snapshots/{id}/archive?token=…`: the link from `snapshot.downloadUrl`.
async fn download_snapshot(
    id: web::Path<String>,
    query: web::Query<DownloadQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(id) = id.parse::<SnapshotId>() else {
        return rest_error(DomainError::NotFound("snapshot"));
    };
    let Some(token) = query.token.as_deref() else {
        return rest_error(DomainError::Unauthenticated);
    };
    match state.domain.snapshot_archive(id, token).await {
        Ok(archive) => HttpResponse::Ok()
            .content_type("application/zip")
            .insert_header((
                header::CONTENT_DISPOSITION,
                content_disposition(&archive.filename),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header(("referrer-policy", "no-referrer"))
            .streaming(archive.body),
        Err(DomainError::Unauthenticated) => rest_error(DomainError::CredentialRejected),
        Err(error) => rest_error(error),
    }
}
