//! S3 multipart uploads: how a stream of unknown length, or a file too large for one
//! PutObject, reaches S3 without being held in memory whole.

use super::failed;
use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::BytesMut;
use futures_util::StreamExt;
use keynet_domain::storage::{ByteStream, StorageError, StorageResult};

/// The part size for streams (S3 needs at least 5 MiB for all but the last part). A stream
/// holds at most one part (and one chunk) in memory.
pub(super) const PART_SIZE: usize = 8 * 1024 * 1024;

/// S3 refuses uploads of more parts.
pub(super) const MAX_PARTS: u64 = 10_000;

/// An upload that is aborted unless completed: explicitly on errors, and from `Drop` when
/// the future running it is dropped (a client gone mid-upload), so S3 keeps no orphaned
/// parts that cost storage.
pub(super) struct MultipartUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    finished: bool,
}

impl MultipartUpload {
    pub(super) async fn start(client: &Client, bucket: &str, key: &str) -> StorageResult<Self> {
        let output = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed("CreateMultipartUpload", key, e))?;
        let upload_id = output
            .upload_id
            .context("S3 started a multipart upload without an upload id")?;
        Ok(Self {
            client: client.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            finished: false,
        })
    }

    /// Sends part `number` (from 1).
    pub(super) async fn send_part(
        &self,
        number: u64,
        body: S3Body,
    ) -> StorageResult<CompletedPart> {
        let number = i32::try_from(number).context("too many parts")?;
        let output = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(body)
            .send()
            .await
            .map_err(|e| failed("UploadPart", &self.key, e))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag)
            .build())
    }

    pub(super) async fn complete(mut self, parts: Vec<CompletedPart>) -> StorageResult<()> {
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => {
                self.finished = true;
                Ok(())
            }
            // Drop aborts it.
            Err(e) => Err(failed("CompleteMultipartUpload", &self.key, e)),
        }
    }

    /// Aborts now; a failure is logged, as the upload failed anyway.
    pub(super) async fn abort(mut self) {
        self.finished = true;
        abort(&self.client, &self.bucket, &self.key, &self.upload_id).await;
    }
}

impl Drop for MultipartUpload {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "cannot abort an unfinished multipart upload: no runtime");
            return;
        };
        let client = self.client.clone();
        let (bucket, key, upload_id) = (
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.clone(),
        );
        runtime.spawn(async move { abort(&client, &bucket, &key, &upload_id).await });
    }
}

async fn abort(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let result = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
    match result {
        Ok(_) => tracing::debug!(key, "aborted a multipart upload"),
        Err(e) => tracing::warn!(
            key,
            error = %aws_sdk_s3::error::DisplayErrorContext(&e),
            "cannot abort a multipart upload; a bucket lifecycle rule \
             (AbortIncompleteMultipartUpload) removes its parts"
        ),
    }
}

/// Reads a body into part-sized pieces, counting it against its limit.
pub(super) struct PartReader<'a> {
    body: ByteStream<'a>,
    buffer: BytesMut,
    pub(super) total: u64,
    max_bytes: u64,
    pub(super) ended: bool,
}

impl<'a> PartReader<'a> {
    pub(super) fn new(body: ByteStream<'a>, max_bytes: u64) -> Self {
        Self {
            body,
            buffer: BytesMut::new(),
            total: 0,
            max_bytes,
            ended: false,
        }
    }

    /// Reads until more than a part is buffered or the body ends. So when it ended, the
    /// whole body fits in one part.
    pub(super) async fn fill(&mut self) -> StorageResult<()> {
        while self.buffer.len() <= PART_SIZE {
            let Some(chunk) = self.body.next().await else {
                self.ended = true;
                return Ok(());
            };
            let chunk = chunk.context("the upload broke off")?;
            self.total += chunk.len() as u64;
            if self.total > self.max_bytes {
                return Err(StorageError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            self.buffer.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// A full part, when more than one is buffered (so the last part is never empty).
    pub(super) fn full_part(&mut self) -> Option<S3Body> {
        (self.buffer.len() > PART_SIZE).then(|| self.buffer.split_to(PART_SIZE).freeze().into())
    }

    /// Everything buffered (the last part, or the whole body).
    pub(super) fn rest(&mut self) -> S3Body {
        self.buffer.split().freeze().into()
    }

    pub(super) fn buffered(&self) -> usize {
        self.buffer.len()
    }
}
