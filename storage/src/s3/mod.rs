//! Blobs in an S3 bucket (AWS or any S3-compatible service) through aws-sdk-s3. Signed URLs
//! are S3 presigned URLs: clients move the bytes to and from S3 directly.

mod multipart;
mod settings;

pub use settings::S3Settings;

use crate::content_disposition;
use crate::keys::{check_key, check_ttl};
use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream as S3Body, Length};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use keynet_domain::storage::{BlobReader, BlobStore, ByteStream, StorageError, StorageResult};
use multipart::{MAX_PARTS, MultipartUpload, PART_SIZE, PartReader};
use std::path::Path;
use std::time::Duration;

/// Files up to this size go up in one PutObject; larger ones in parts.
const FILE_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;

/// Parts of a file sent at once: each streams from disk, so this bounds connections, not
/// memory.
const FILE_PART_CONCURRENCY: usize = 4;

/// S3's limit for one PutObject, hence for an upload URL.
const MAX_SINGLE_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;

pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// Checks the settings and builds the client; nothing is sent yet (see [`Self::check`]).
    pub fn new(settings: &S3Settings) -> Result<Self, crate::Error> {
        settings.check()?;
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "keynet",
        );
        // rustls on ring, like every other client of the platform (see the workspace's
        // aws-sdk-s3 entry for why not the SDK's default client).
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(https)
            .region(Region::new(settings.region.clone()))
            .force_path_style(settings.path_style)
            .credentials_provider(credentials)
            // The SDK's default since 2025 adds CRC trailers to every upload, which many
            // S3-compatible services refuse; send checksums only where S3 requires them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
        })
    }

    /// Asks S3 for the bucket: fails when the endpoint, credentials or bucket are wrong.
    /// For start-up and readiness checks.
    pub async fn check(&self) -> StorageResult<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| {
                StorageError::Backend(anyhow::anyhow!(
                    "the S3 bucket `{}` cannot be reached: {}",
                    self.bucket,
                    DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    async fn put_file_inner(&self, key: &str, path: &Path) -> StorageResult<u64> {
        check_key(key)?;
        let size = tokio::fs::metadata(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size <= FILE_MULTIPART_THRESHOLD {
            let body = S3Body::from_path(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            self.put_object(key, body, size).await?;
        } else {
            self.put_file_in_parts(key, path, size).await?;
        }
        tracing::debug!(key, bytes = size, "stored a file in S3");
        Ok(size)
    }

    async fn put_file_in_parts(&self, key: &str, path: &Path, size: u64) -> StorageResult<()> {
        let part_size = (PART_SIZE as u64).max(size.div_ceil(MAX_PARTS));
        let upload = MultipartUpload::start(&self.client, &self.bucket, key).await?;
        let parts = futures_util::stream::iter(0..size.div_ceil(part_size))
            .map(|index| {
                let upload = &upload;
                async move {
                    let offset = index * part_size;
                    let body = S3Body::read_from()
                        .path(path)
                        .offset(offset)
                        .length(Length::Exact(part_size.min(size - offset)))
                        .build()
                        .await
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    upload.send_part(index + 1, body).await
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
            let size = reader.total;
            self.put_object(key, reader.rest(), size).await?;
        } else {
            let upload = MultipartUpload::start(&self.client, &self.bucket, key).await?;
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

    async fn put_object(&self, key: &str, body: S3Body, size: u64) -> StorageResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(i64::try_from(size).context("blob too large")?)
            .body(body)
            .send()
            .await
            .map_err(|e| failed("PutObject", key, e))?;
        Ok(())
    }

    async fn open_inner(&self, key: &str) -> StorageResult<BlobReader> {
        check_key(key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|e| e.is_no_such_key()) || is_404(&e) {
                    StorageError::NotFound(key.to_string())
                } else {
                    failed("GetObject", key, e)
                }
            })?;
        Ok(Box::pin(output.body.into_async_read()))
    }

    async fn size_inner(&self, key: &str) -> StorageResult<Option<u64>> {
        check_key(key)?;
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match result {
            Ok(output) => {
                let size = output
                    .content_length
                    .and_then(|len| u64::try_from(len).ok())
                    .context("S3 answered HeadObject without a size")?;
                Ok(Some(size))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) || is_404(&e) => {
                Ok(None)
            }
            Err(e) => Err(failed("HeadObject", key, e)),
        }
    }

    async fn delete_inner(&self, key: &str) -> StorageResult<()> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed("DeleteObject", key, e))?;
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
        let presigning = presigning(ttl)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_response_content_disposition(
                filename
                    .filter(|name| !name.is_empty())
                    .map(content_disposition),
            )
            .presigned(presigning)
            .await
            .map_err(|e| failed("presigning GetObject", key, e))?;
        Ok(request.uri().to_string())
    }

    async fn upload_url_inner(&self, key: &str, size: u64, ttl: Duration) -> StorageResult<String> {
        check_key(key)?;
        if size > MAX_SINGLE_UPLOAD {
            return Err(StorageError::Backend(anyhow::anyhow!(
                "an upload URL takes at most 5 GiB (S3's limit for one PUT), not {size} bytes"
            )));
        }
        let presigning = presigning(ttl)?;
        // The length is a signed header: S3 refuses a PUT of any other size.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(i64::try_from(size).context("size too large")?)
            .presigned(presigning)
            .await
            .map_err(|e| failed("presigning PutObject", key, e))?;
        Ok(request.uri().to_string())
    }
}

/// Sends a body that needs more than one part, part by part: reading waits while a part
/// is sent, so no more than one part is buffered.
async fn send_parts(
    upload: &MultipartUpload,
    reader: &mut PartReader<'_>,
) -> StorageResult<Vec<aws_sdk_s3::types::CompletedPart>> {
    let mut parts = Vec::new();
    loop {
        while let Some(part) = reader.full_part() {
            parts.push(upload.send_part(parts.len() as u64 + 1, part).await?);
        }
        if reader.ended {
            if reader.buffered() > 0 {
                parts.push(
                    upload
                        .send_part(parts.len() as u64 + 1, reader.rest())
                        .await?,
                );
            }
            return Ok(parts);
        }
        reader.fill().await?;
    }
}

fn presigning(ttl: Duration) -> StorageResult<PresigningConfig> {
    check_ttl(ttl)?;
    Ok(PresigningConfig::expires_in(ttl).context("invalid URL lifetime")?)
}

fn is_404<E, R: HttpStatus>(error: &SdkError<E, R>) -> bool {
    error.raw_response().is_some_and(|r| r.status_code() == 404)
}

/// The status of the SDK's raw response type, named once here.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A failed S3 call, with the SDK's full explanation (code, message, request id).
pub(super) fn failed<E>(
    action: &str,
    key: &str,
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StorageError::Backend(anyhow::anyhow!(
        "S3 {action} of `{key}` failed: {}",
        DisplayErrorContext(&error)
    ))
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
