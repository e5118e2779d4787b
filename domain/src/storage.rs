//! The blob-store port: where dataset files, snapshots, checkpoints and exports live. Two
//! implementations in `keynet-storage`: the local filesystem (the embedded default) and S3.
//! Blobs are streamed in and out; no implementation holds a whole blob in memory.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncRead;

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A stream of chunks, as an HTTP body arrives.
pub type ByteStream<'a> = BoxStream<'a, std::io::Result<Bytes>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no blob at {0}")]
    NotFound(String),
    /// More bytes arrived than allowed (e.g. than the upload declared).
    #[error("the upload is larger than the {limit} bytes allowed")]
    TooLarge { limit: u64 },
    #[error("blob storage failed")]
    Backend(#[from] anyhow::Error),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Keys are relative paths of `[A-Za-z0-9._/-]` segments, e.g. `orgs/<id>/blobs/sha256/<hex>`;
/// implementations refuse anything else.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the file at `path` under `key`; returns its size.
    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path) -> BoxFuture<'a, StorageResult<u64>>;

    /// Stores a stream under `key`, refusing it (and keeping nothing) past `max_bytes`.
    fn put_stream<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream<'a>,
        max_bytes: u64,
    ) -> BoxFuture<'a, StorageResult<u64>>;

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<BlobReader>>;

    /// The blob's size, or `None` when there is none.
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<Option<u64>>>;

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StorageResult<()>>;

    /// A URL anyone may GET for `ttl`; `filename` names the download.
    fn download_url<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
        filename: Option<&'a str>,
    ) -> BoxFuture<'a, StorageResult<String>>;

    /// A URL anyone may PUT exactly `size` bytes to, for `ttl`.
    fn upload_url<'a>(
        &'a self,
        key: &'a str,
        size: u64,
        ttl: Duration,
    ) -> BoxFuture<'a, StorageResult<String>>;
}

/// Checks a key against the rule above.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_are_plain_relative_paths() {
        assert!(valid_key("orgs/0190/blobs/sha256/abcd"));
        assert!(valid_key("uploads/x.zip"));
        for bad in [
            "", "/abs", "a//b", "a/../b", "..", "a/./b", "a b", "a\\b", "é",
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
