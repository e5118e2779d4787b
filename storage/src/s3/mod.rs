//! Blobs in an S3 bucket (AWS or any S3-compatible service). Requests are signed by rusty-s3
//! and sent by reqwest (see [`connection`]). Signed URLs are S3 presigned URLs: clients move
//! the bytes to and from S3 directly.

mod connection;
mod multipart;
mod settings;

pub use settings::S3Settings;

use crate::content_disposition;
use crate::keys::{check_key, check_ttl};
use anyhow::Context;
use connection::{Connection, Payload, Request};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use keynet_domain::storage::{BlobReader, BlobStore, ByteStream, StorageError, StorageResult};
use multipart::{MAX_PARTS, MultipartUpload, PART_SIZE, PartReader};
use reqwest::{StatusCode, Url};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::io::StreamReader;

/// Files up to this size go up in one PutObject; larger ones in parts.
const FILE_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;

/// Parts of a file sent at once: each streams from disk, so this bounds connections, not
/// memory.
const FILE_PART_CONCURRENCY: usize = 4;

/// S3's limit for one PutObject, hence for an upload URL.
const MAX_SINGLE_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;

pub struct S3Store {
    s3: Arc<Connection>,
}

impl S3Store {
    /// Checks the settings and builds the client; nothing is sent yet (see [`Self::check`]).
    pub fn new(settings: &S3Settings) -> Result<Self, crate::Error> {
        settings.check()?;
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", settings.region));
        let setting = |key, reason: String| crate::Error::Setting { key, reason };
        let endpoint: Url = endpoint
            .parse()
            .map_err(|e| setting("endpoint", format!("is not a URL: {e}")))?;
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            endpoint,
            style,
            settings.bucket.clone(),
            settings.region.clone(),
        )
        .map_err(|e| {
            setting(
                "bucket",
                format!("cannot be addressed at the endpoint: {e:?}"),
            )
        })?;
        let credentials = Credentials::new(&settings.access_key_id, &settings.secret_access_key);
        Ok(Self {
            s3: Arc::new(Connection::new(bucket, credentials)?),
        })
    }

    /// The origin (`https://host[:port]`) of the bucket's presigned URLs: where browsers send
    /// the bytes, which a web page's Content-Security-Policy must allow.
    pub fn origin(&self) -> String {
        self.s3.bucket.base_url().origin().ascii_serialization()
    }

    /// Asks S3 for the bucket: fails when the endpoint, credentials or bucket are wrong.
    /// For start-up and readiness checks.
    pub async fn check(&self) -> StorageResult<()> {
        let s3 = &self.s3;
        let bucket = s3.bucket.name();
        let request = Request::new(
            "HeadBucket",
            bucket,
            &s3.bucket.head_bucket(Some(&s3.credentials)),
        );
        // Unreachable: the error names the endpoint and what the connection met.
        let response = s3.send(&request).await?;
        let reason = match response.status() {
            status if status.is_success() => return Ok(()),
            StatusCode::NOT_FOUND => "it does not exist".to_string(),
            StatusCode::FORBIDDEN => {
                "S3 refused the credentials (HTTP 403: a wrong key, or one without access to it)"
                    .to_string()
            }
            status => format!("HTTP {}", status.as_u16()),
        };
        Err(StorageError::Backend(anyhow::anyhow!(
            "the S3 bucket `{bucket}` cannot be used: {reason}"
        )))
    }

    async fn put_file_inner(&self, key: &str, path: &Path) -> StorageResult<u64> {
        check_key(key)?;
        let size = tokio::fs::metadata(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size <= FILE_MULTIPART_THRESHOLD {
            let whole = Payload::File {
                path,
                offset: 0,
                len: size,
            };
            self.put_object(key, whole).await?;
        } else {
            self.put_file_in_parts(key, path, size).await?;
        }
        tracing::debug!(key, bytes = size, "stored a file in S3");
        Ok(size)
    }

    async fn put_file_in_parts(&self, key: &str, path: &Path, size: u64) -> StorageResult<()> {
        let part_size = (PART_SIZE as u64).max(size.div_ceil(MAX_PARTS));
        let upload = MultipartUpload::start(&self.s3, key).await?;
        let parts = futures_util::stream::iter(0..size.div_ceil(part_size))
            .map(|index| {
                let upload = &upload;
                async move {
                    let offset = index * part_size;
                    let len = part_size.min(size - offset);
                    let part = Payload::File { path, offset, len };
                    upload.send_part(index + 1, part).await
                }
            })
            .buffered(FILE_PART_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await;
        match parts {
            Ok(parts) => upload.complete(parts).await,
            Err(e) => {
                upload.abort().await;
                Err(e)
            }
        }
    }

    async fn put_stream_inner(
        &self,
        key: &str,
        body: ByteStream<'_>,
        max_bytes: u64,
    ) -> StorageResult<u64> {
        check_key(key)?;
        let mut reader = PartReader::new(body, max_bytes);
        reader.fill().await?;
        if reader.ended {
            self.put_object(key, Payload::Bytes(reader.rest())).await?;
        } else {
            let upload = MultipartUpload::start(&self.s3, key).await?;
            match send_parts(&upload, &mut reader).await {
                Ok(parts) => upload.complete(parts).await?,
                Err(e) => {
                    upload.abort().await;
                    return Err(e);
                }
            }
        }
        tracing::debug!(key, bytes = reader.total, "stored a stream in S3");
        Ok(reader.total)
    }

    async fn put_object(&self, key: &str, payload: Payload<'_>) -> StorageResult<()> {
        let s3 = &self.s3;
        let action = s3.bucket.put_object(Some(&s3.credentials), key);
        let request = Request::new("PutObject", key, &action).with_payload(payload);
        s3.expect_success(&request).await?;
        Ok(())
    }

    async fn open_inner(&self, key: &str) -> StorageResult<BlobReader> {
        check_key(key)?;
        let s3 = &self.s3;
        let action = s3.bucket.get_object(Some(&s3.credentials), key);
        let response = s3
            .expect_found(&Request::new("GetObject", key, &action))
            .await?
            .ok_or_else(|| StorageError::NotFound(key.to_string()))?;
        let body = response.bytes_stream().map_err(std::io::Error::other);
        Ok(Box::pin(StreamReader::new(body)))
    }

    async fn size_inner(&self, key: &str) -> StorageResult<Option<u64>> {
        check_key(key)?;
        let s3 = &self.s3;
        let action = s3.bucket.head_object(Some(&s3.credentials), key);
        let Some(response) = s3
            .expect_found(&Request::new("HeadObject", key, &action))
            .await?
        else {
            return Ok(None);
        };
        // A HEAD's body is empty, so its length is in the header, not `content_length()`.
        let size = response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .context("S3 answered HeadObject without a size")?;
        Ok(Some(size))
    }

    async fn delete_inner(&self, key: &str) -> StorageResult<()> {
        check_key(key)?;
        let s3 = &self.s3;
        let action = s3.bucket.delete_object(Some(&s3.credentials), key);
        s3.expect_success(&Request::new("DeleteObject", key, &action))
            .await?;
        tracing::debug!(key, "deleted a blob in S3");
        Ok(())
    }

    async fn download_url_inner(
        &self,
        key: &str,
        ttl: Duration,
        filename: Option<&str>,
    ) -> StorageResult<String> {
        check_key(key)?;
        check_ttl(ttl)?;
        let s3 = &self.s3;
        let mut action = s3.bucket.get_object(Some(&s3.credentials), key);
        if let Some(name) = filename.filter(|name| !name.is_empty()) {
            action
                .query_mut()
                .insert("response-content-disposition", content_disposition(name));
        }
        Ok(action.sign(ttl).into())
    }

    async fn upload_url_inner(&self, key: &str, size: u64, ttl: Duration) -> StorageResult<String> {
        check_key(key)?;
        check_ttl(ttl)?;
        if size > MAX_SINGLE_UPLOAD {
            return Err(StorageError::Backend(anyhow::anyhow!(
                "an upload URL takes at most 5 GiB (S3's limit for one PUT), not {size} bytes"
            )));
        }
        let s3 = &self.s3;
        let mut action = s3.bucket.put_object(Some(&s3.credentials), key);
        // The length is a signed header: S3 refuses a PUT of any other size.
        action
            .headers_mut()
            .insert("content-length", size.to_string());
        Ok(action.sign(ttl).into())
    }
}

/// Sends a body that needs more than one part, part by part: reading waits while a part
/// is sent, so no more than one part is buffered. Returns the parts' ETags in order.
async fn send_parts(
    upload: &MultipartUpload,
    reader: &mut PartReader<'_>,
) -> StorageResult<Vec<String>> {
    let mut parts = Vec::new();
    loop {
        while let Some(part) = reader.full_part() {
            let number = parts.len() as u64 + 1;
            parts.push(upload.send_part(number, Payload::Bytes(part)).await?);
        }
        if reader.ended {
            if reader.buffered() > 0 {
                let number = parts.len() as u64 + 1;
                parts.push(
                    upload
                        .send_part(number, Payload::Bytes(reader.rest()))
                        .await?,
                );
            }
            return Ok(parts);
        }
        reader.fill().await?;
    }
}

impl BlobStore for S3Store {
    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path) -> BoxFuture<'a, StorageResult<u64>> {
        Box::pin(self.put_file_inner(key, path))
    }

    fn put_stream<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream<'a>,
        max_bytes: u64,
    ) -> BoxFuture<'a, StorageResult<u64>> {
        Box::pin(self.put_stream_inner(key, body, max_bytes))
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<BlobReader>> {
        Box::pin(self.open_inner(key))
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<Option<u64>>> {
        Box::pin(self.size_inner(key))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<()>> {
        Box::pin(self.delete_inner(key))
    }

    fn download_url<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
        filename: Option<&'a str>,
    ) -> BoxFuture<'a, StorageResult<String>> {
        Box::pin(self.download_url_inner(key, ttl, filename))
    }

    fn upload_url<'a>(
        &'a self,
        key: &'a str,
        size: u64,
        ttl: Duration,
    ) -> BoxFuture<'a, StorageResult<String>> {
        Box::pin(self.upload_url_inner(key, size, ttl))
    }
}
