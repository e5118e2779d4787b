//! How the S3 store talks to S3: each request is signed without I/O by rusty-s3 (SigV4 in the
//! query string, as a presigned URL) and sent by reqwest. Transient failures (the connection,
//! S3's 500/503 `SlowDown`) are retried, as every S3 SDK does, since the bodies here can be
//! produced again: bytes in memory or a range of a file. S3's answer to a refused request is
//! read for its code and message, which end up in the error.

use anyhow::Context;
use bytes::Bytes;
use instant_xml::FromXml;
use keynet_domain::storage::{StorageError, StorageResult};
use reqwest::Url;
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Method, Response, StatusCode};
use rusty_s3::{Bucket, Credentials, S3Action};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// How long the URL of one request stays valid: S3 checks it when the request starts, so
/// this only needs to cover the retries.
const REQUEST_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Attempts of one request before its failure is reported, and the pause before each retry.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

/// A connection may not open (a wrong endpoint) within this; a transfer may take any time.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Connection {
    http: reqwest::Client,
    pub(super) bucket: Bucket,
    pub(super) credentials: Credentials,
}

/// What a request carries; each attempt builds its body anew.
pub(super) enum Payload<'a> {
    Empty,
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
    },
}

/// One request: the action it performs and the blob it concerns name it in errors.
pub(super) struct Request<'a> {
    action: &'static str,
    key: &'a str,
    method: Method,
    url: Url,
    payload: Payload<'a>,
}

impl<'a> Request<'a> {
    /// The rusty-s3 `action` as a request without a body: its method, and its URL signed for
    /// one request. `name` (S3's name of the call) and `key` name it in errors.
    pub(super) fn new<'s, A: S3Action<'s>>(name: &'static str, key: &'a str, action: &A) -> Self {
        let method = match A::METHOD {
            rusty_s3::Method::Head => Method::HEAD,
            rusty_s3::Method::Get => Method::GET,
            rusty_s3::Method::Post => Method::POST,
            rusty_s3::Method::Put => Method::PUT,
            rusty_s3::Method::Delete => Method::DELETE,
        };
        Self {
            action: name,
            key,
            method,
            url: action.sign(REQUEST_LIFETIME),
            payload: Payload::Empty,
        }
    }

    pub(super) fn with_payload(self, payload: Payload<'a>) -> Self {
        Self { payload, ..self }
    }
}

impl Connection {
    pub(super) fn new(bucket: Bucket, credentials: Credentials) -> StorageResult<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("cannot set up the S3 HTTP client")?;
        Ok(Self {
            http,
            bucket,
            credentials,
        })
    }

    /// Sends the request, retrying transient failures; any answer S3 gives is returned, so
    /// the caller decides what a 404 means (see [`Self::expect_success`]).
    pub(super) async fn send(&self, request: &Request<'_>) -> StorageResult<Response> {
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            let outcome = self.attempt(request).await;
            let transient = match &outcome {
                Ok(response) => is_transient(response.status()),
                Err(Attempt::Transport(_)) => true,
                Err(Attempt::Payload(_)) => false,
            };
            match pauses.next() {
                Some(pause) if transient => {
                    tracing::debug!(
                        action = request.action,
                        key = request.key,
                        "retrying an S3 request"
                    );
                    tokio::time::sleep(*pause).await;
                }
                _ => return outcome.map_err(|e| self.unreachable(request, e)),
            }
        }
    }

    /// Sends the request and fails unless S3 answers with a success.
    pub(super) async fn expect_success(&self, request: &Request<'_>) -> StorageResult<Response> {
        let response = self.send(request).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(refused(request, response).await)
        }
    }

    /// As [`Self::expect_success`], with `None` when S3 has no such object (404).
    pub(super) async fn expect_found(
        &self,
        request: &Request<'_>,
    ) -> StorageResult<Option<Response>> {
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => Ok(Some(response)),
            _ => Err(refused(request, response).await),
        }
    }

    async fn attempt(&self, request: &Request<'_>) -> Result<Response, Attempt> {
        let builder = self
            .http
            .request(request.method.clone(), request.url.clone());
        let builder = match &request.payload {
            Payload::Empty => builder.header(CONTENT_LENGTH, 0),
            Payload::Bytes(bytes) => builder.body(bytes.clone()),
            Payload::File { path, offset, len } => {
                let body = file_range(path, *offset, *len).await.map_err(|e| {
                    Attempt::Payload(e.context(format!("cannot read {}", path.display())))
                })?;
                // Set explicitly: a streamed body would otherwise go chunked, which S3 refuses.
                builder.header(CONTENT_LENGTH, *len).body(body)
            }
        };
        builder
            .send()
            .await
            // The URL carries a signature valid for minutes: it stays out of errors and logs.
            .map_err(|e| Attempt::Transport(e.without_url()))
    }

    fn unreachable(&self, request: &Request<'_>, failure: Attempt) -> StorageError {
        match failure {
            Attempt::Payload(e) => StorageError::Backend(e),
            Attempt::Transport(e) => StorageError::Backend(anyhow::anyhow!(
                "S3 {} of `{}` failed: cannot reach S3 at {}: {:#}",
                request.action,
                request.key,
                self.bucket.base_url().origin().ascii_serialization(),
                anyhow::Error::new(e)
            )),
        }
    }
}

enum Attempt {
    /// The body could not be produced (a file gone): retrying cannot help.
    Payload(anyhow::Error),
    Transport(reqwest::Error),
}

fn is_transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

async fn file_range(path: &Path, offset: u64, len: u64) -> anyhow::Result<reqwest::Body> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(reqwest::Body::wrap_stream(ReaderStream::new(
        file.take(len),
    )))
}

/// S3's `<Error>` document: what was refused and why.
#[derive(FromXml)]
#[xml(rename = "Error")]
struct ErrorDocument {
    #[xml(rename = "Code")]
    code: Option<String>,
    #[xml(rename = "Message")]
    message: Option<String>,
    #[xml(rename = "RequestId")]
    request_id: Option<String>,
}

/// A refused request as an error: the status, and S3's code, message and request id when
/// the body has them (a HEAD's answer has no body).
pub(super) async fn refused(request: &Request<'_>, response: Response) -> StorageError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    failure(request, status, &body)
}

/// S3 answers some requests (CompleteMultipartUpload) with 200 and an `<Error>` document:
/// such an answer as an error.
pub(super) fn refused_in_body(request: &Request<'_>, body: &str) -> StorageError {
    failure(request, StatusCode::OK, body)
}

fn failure(request: &Request<'_>, status: StatusCode, body: &str) -> StorageError {
    let mut reason = format!("HTTP {}", status.as_u16());
    if let Ok(document) = instant_xml::from_str::<ErrorDocument>(body) {
        for part in [document.code, document.message].into_iter().flatten() {
            reason.push_str(": ");
            reason.push_str(&part);
        }
        if let Some(id) = document.request_id {
            reason.push_str(&format!(" (request id {id})"));
        }
    }
    StorageError::Backend(anyhow::anyhow!(
        "S3 {} of `{}` failed: {reason}",
        request.action,
        request.key
    ))
}
