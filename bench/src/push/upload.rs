//! A blob pushed through the OCI upload API as registry clients push one: `POST
//! …/blobs/uploads/` opens an upload, `PATCH` sends the bytes, `PUT …?digest=` closes it.
//! Every answer is checked against the distribution spec, and a wrong one stops the run
//! with the request and the response, so a registry bug is reported as it happened.

use anyhow::{Result, bail};
use bytes::Bytes;
use keynet_testkit::registry::Registry;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

/// How the bytes of a blob are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One `PATCH` with the whole blob and no `Content-Range`: what `docker push` sends.
    Streamed,
    /// `PATCH`es of this many bytes, each with its `Content-Range`: the spec's chunked
    /// upload, which resumable clients use.
    Chunked(usize),
}

/// Pushes `blob` (whose digest the caller computed) into `repository`.
pub async fn push_blob(
    registry: &Registry,
    bearer: &str,
    repository: &str,
    blob: &Bytes,
    digest: &str,
    mode: Mode,
) -> Result<()> {
    let uploads = format!("/v2/{repository}/blobs/uploads/");
    let started = send(registry, bearer, Method::POST, &uploads, |request| request).await?;
    let mut location = accepted_location(started, &format!("POST {uploads}"), None).await?;
    let chunk_size = match mode {
        Mode::Streamed => blob.len().max(1),
        Mode::Chunked(size) => size,
    };
    let mut start = 0;
    while start < blob.len() {
        let end = (start + chunk_size).min(blob.len());
        let chunk = blob.slice(start..end);
        let range = format!("{start}-{}", end - 1);
        let answer = send(registry, bearer, Method::PATCH, &location, |request| {
            let request = request
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(chunk);
            match mode {
                Mode::Streamed => request,
                Mode::Chunked(_) => request.header(CONTENT_RANGE, range.as_str()),
            }
        })
        .await?;
        let request = match mode {
            Mode::Streamed => format!("PATCH {location}"),
            Mode::Chunked(_) => format!("PATCH {location} with Content-Range {range}"),
        };
        // The spec's `Range` is what the upload holds so far: from 0 to this chunk's end.
        location = accepted_location(answer, &request, Some(end - 1)).await?;
        start = end;
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    let closed = send(
        registry,
        bearer,
        Method::PUT,
        &format!("{location}{separator}digest={digest}"),
        |request| request,
    )
    .await?;
    let created = closed.status() == StatusCode::CREATED
        && closed
            .headers()
            .get("docker-content-digest")
            .is_some_and(|value| value.as_bytes() == digest.as_bytes());
    if !created {
        bail!(
            "PUT {location}{separator}digest={digest} answered {}, expected 201 with Docker-Content-Digest {digest}",
            describe(closed).await
        );
    }
    Ok(())
}

/// Sends one request to the registry (`path` relative to it, as `Location` headers are).
async fn send(
    registry: &Registry,
    bearer: &str,
    method: Method,
    path: &str,
    build: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> Result<Response> {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", registry.base)
    };
    let request = registry
        .http
        .request(method.clone(), &url)
        .bearer_auth(bearer);
    match build(request).send().await {
        Ok(response) => Ok(response),
        Err(error) => bail!("{method} {path} failed: {error}"),
    }
}

/// The `Location` of an answer to `request` that accepted it (202) and, when given, holds
/// `Range: 0-<last>`.
async fn accepted_location(
    response: Response,
    request: &str,
    last: Option<usize>,
) -> Result<String> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (location, range) = (header(LOCATION), header(RANGE));
    let range_ok = last.is_none_or(|last| range.as_deref() == Some(&format!("0-{last}")));
    match location {
        Some(location) if response.status() == StatusCode::ACCEPTED && range_ok => Ok(location),
        _ => bail!(
            "{request} answered {}, expected 202 Accepted{} with a Location",
            describe(response).await,
            last.map(|last| format!(" and Range 0-{last}"))
                .unwrap_or_default(),
        ),
    }
}

/// Status, headers and body of an unexpected answer, for the report of a bug.
async fn describe(response: Response) -> String {
    let status = response.status();
    let headers: Vec<String> = response
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    let body = response.text().await.unwrap_or_default();
    format!("{status} [{}] {body}", headers.join("; "))
}
