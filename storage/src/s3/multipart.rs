//! S3 multipart uploads: how a stream of unknown length, or a file too large for one
//! PutObject, reaches S3 without being held in memory whole.

use super::connection::{self, Connection, Payload, Request};
use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use keynet_domain::storage::{ByteStream, StorageError, StorageResult};
use rusty_s3::actions::{CompleteMultipartUploadResponse, CreateMultipartUpload};
use std::sync::Arc;

/// The part size for streams (S3 needs at least 5 MiB for all but the last part). A stream
/// holds at most one part (and one chunk) in memory.
pub(super) const PART_SIZE: usize = 8 * 1024 * 1024;

/// S3 refuses uploads of more parts.
pub(super) const MAX_PARTS: u64 = 10_000;

/// An upload that is aborted unless completed: explicitly on errors, and from `Drop` when
/// the future running it is dropped (a client gone mid-upload), so S3 keeps no orphaned
/// parts that cost storage.
pub(super) struct MultipartUpload {
    s3: Arc<Connection>,
    key: String,
    upload_id: String,
    finished: bool,
}

impl MultipartUpload {
    pub(super) async fn start(s3: &Arc<Connection>, key: &str) -> StorageResult<Self> {
        let action = s3
            .bucket
            .create_multipart_upload(Some(&s3.credentials), key);
        let request = Request::new("CreateMultipartUpload", key, &action);
        let answer = s3.expect_success(&request).await?.text().await;
        let answer = answer.context("S3's answer to CreateMultipartUpload broke off")?;
        let created = CreateMultipartUpload::parse_response(&answer)
            .context("S3 started a multipart upload without an upload id")?;
        Ok(Self {
            s3: Arc::clone(s3),
            key: key.to_string(),
            upload_id: created.upload_id().to_string(),
            finished: false,
        })
    }

    /// Sends part `number` (from 1); returns its ETag.
    pub(super) async fn send_part(&self, number: u64, part: Payload<'_>) -> StorageResult<String> {
        let number = u16::try_from(number).context("too many parts")?;
        let s3 = &self.s3;
        let action =
            s3.bucket
                .upload_part(Some(&s3.credentials), &self.key, number, &self.upload_id);
        let request = Request::new("UploadPart", &self.key, &action).with_payload(part);
        let response = s3.expect_success(&request).await?;
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .context("S3 stored a part without an ETag")?;
        Ok(etag.to_string())
    }

    /// Completes the upload from its parts' ETags, in order.
    pub(super) async fn complete(mut self, etags: Vec<String>) -> StorageResult<()> {
        let s3 = &self.s3;
        let action = s3.bucket.complete_multipart_upload(
            Some(&s3.credentials),
            &self.key,
            &self.upload_id,
            etags.iter().map(String::as_str),
        );
        let request = Request::new("CompleteMultipartUpload", &self.key, &action)
            .with_payload(Payload::Bytes(Bytes::from(action.body())));
        // On an error, Drop aborts it.
        let answer = s3.expect_success(&request).await?.text().await;
        let answer = answer.context("S3's answer to CompleteMultipartUpload broke off")?;
        // S3 may answer 200 and still fail, with an error document instead of the result.
        if CompleteMultipartUploadResponse::parse(&answer).is_err() {
            return Err(connection::refused_in_body(&request, &answer));
        }
        self.finished = true;
        Ok(())
    }

    /// Aborts now; a failure is logged, as the upload failed anyway.
    pub(super) async fn abort(mut self) {
        self.finished = true;
        abort(&self.s3, &self.key, &self.upload_id).await;
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
        let s3 = Arc::clone(&self.s3);
        let (key, upload_id) = (self.key.clone(), self.upload_id.clone());
        runtime.spawn(async move { abort(&s3, &key, &upload_id).await });
    }
}

async fn abort(s3: &Connection, key: &str, upload_id: &str) {
    let action = s3
        .bucket
        .abort_multipart_upload(Some(&s3.credentials), key, upload_id);
    let request = Request::new("AbortMultipartUpload", key, &action);
    match s3.expect_success(&request).await {
        Ok(_) => tracing::debug!(key, "aborted a multipart upload"),
        Err(e) => tracing::warn!(
            key,
            error = %format!("{:#}", anyhow::Error::from(e)),
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
    pub(super) fn full_part(&mut self) -> Option<Bytes> {
        (self.buffer.len() > PART_SIZE).then(|| self.buffer.split_to(PART_SIZE).freeze())
    }

    /// Everything buffered (the last part, or the whole body).
    pub(super) fn rest(&mut self) -> Bytes {
        self.buffer.split().freeze()
    }

    pub(super) fn buffered(&self) -> usize {
        self.buffer.len()
    }
}
