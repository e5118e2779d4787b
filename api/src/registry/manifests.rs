//! Manifest and tag endpoints.

use super::{access, head_response, registry_error, with_api_version};
use crate::http::AppState;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use keynet_marketplace::registry::{Action, Reference};
use serde::Deserialize;
use serde_json::json;

fn reference(req: &HttpRequest) -> keynet_marketplace::Result<Reference> {
    Reference::parse(req.match_info().get("reference").unwrap_or_default())
}

/// `PUT …/manifests/{reference}`. Bodies over the limit are cut off by the resource's
/// payload limit (413) before they are read whole.
pub async fn put(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let target = match access(&req, &state, Action::Push).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    let reference = match reference(&req) {
        Ok(reference) => reference,
        Err(error) => return registry_error(None, &error),
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match state
        .marketplace
        .put_manifest(&target, &reference, content_type, &body)
        .await
    {
        Ok(pushed) => with_api_version(HttpResponse::Created())
            .insert_header((
                header::LOCATION,
                format!("/v2/{}/manifests/{}", target.name, pushed.digest),
            ))
            .insert_header(("Docker-Content-Digest", pushed.digest.as_str()))
            .finish(),
        Err(error) => registry_error(None, &error),
    }
}

/// `GET`/`HEAD …/manifests/{reference}`.
pub async fn fetch(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let source = match access(&req, &state, Action::Pull).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    let reference = match reference(&req) {
        Ok(reference) => reference,
        Err(error) => return registry_error(None, &error),
    };
    match state
        .marketplace
        .registry_manifest(&source, &reference)
        .await
    {
        Ok(manifest) => {
            let mut response = with_api_version(HttpResponse::Ok());
            response
                .content_type(manifest.media_type.as_str())
                .insert_header(("Docker-Content-Digest", manifest.digest.as_str()))
                .insert_header((header::ETAG, format!("\"{}\"", manifest.digest)));
            if req.method() == Method::HEAD {
                return head_response(response, manifest.size as u64);
            }
            response.body(manifest.content)
        }
        Err(error) => registry_error(None, &error),
    }
}

/// `DELETE …/manifests/{digest}`.
pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let target = match access(&req, &state, Action::Delete).await {
        Ok(target) => target,
        Err(response) => return response,
    };
    let reference = match reference(&req) {
        Ok(reference) => reference,
        Err(error) => return registry_error(None, &error),
    };
    match state.marketplace.delete_manifest(&target, &reference).await {
        Ok(()) => with_api_version(HttpResponse::Accepted()).finish(),
        Err(error) => registry_error(None, &error),
    }
}

#[derive(Deserialize)]
pub struct TagsQuery {
    n: Option<u64>,
    last: Option<String>,
}

/// `GET …/tags/list?n=&last=`, paginated with a `Link` header as the spec describes.
pub async fn tags(
    req: HttpRequest,
    query: web::Query<TagsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let source = match access(&req, &state, Action::Pull).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    match state
        .marketplace
        .registry_tags(&source, query.n, query.last.as_deref())
        .await
    {
        Ok(page) => {
            let mut response = with_api_version(HttpResponse::Ok());
            if let Some(last) = &page.next {
                response.insert_header((
                    header::LINK,
                    format!(
                        "</v2/{}/tags/list?n={}&last={last}>; rel=\"next\"",
                        source.name,
                        page.tags.len()
                    ),
                ));
            }
            response.json(json!({"name": source.name, "tags": page.tags}))
        }
        Err(error) => registry_error(None, &error),
    }
}
