//! Blobs as files under one folder: the embedded default. A blob appears only when it is
//! complete: writes go to a temporary file beside the target, then `rename` over it.

mod signed_url;

pub use signed_url::{BLOBS_PATH, Method, SignedRequest};

use crate::Error;
use crate::keys::{check_key, check_ttl};
use anyhow::Context;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use keynet_domain::storage::{BlobReader, BlobStore, ByteStream, StorageError, StorageResult};
use signed_url::UrlSigner;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Signing keys shorter than this are refused: an HMAC key is as strong as it is long.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Temporary files start with this; a key whose last segment does too is still valid, but
/// the random suffix keeps the two from meeting.
const TEMP_PREFIX: &str = ".keynet-partial-";

/// Large enough that a stream of small HTTP chunks becomes few large writes.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

pub struct LocalStore {
    root: PathBuf,
    signer: UrlSigner,
}

impl LocalStore {
    /// `root` holds the blobs (created on first write); `public_base_url` is how clients
    /// reach this Keynet (signed URLs start with it); `signing_key` signs those URLs and
    /// must be secret and at least [`MIN_SIGNING_KEY_BYTES`] long.
    pub fn new(
        root: impl Into<PathBuf>,
        public_base_url: &str,
        signing_key: Vec<u8>,
    ) -> Result<Self, Error> {
        if signing_key.len() < MIN_SIGNING_KEY_BYTES {
            return Err(Error::Setting {
                key: "signing_key",
                reason: format!("needs at least {MIN_SIGNING_KEY_BYTES} bytes"),
            });
        }
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(Error::Setting {
                key: "public_url",
                reason: "must start with http:// or https://".into(),
            });
        }
        Ok(Self {
            root: root.into(),
            signer: UrlSigner::new(public_base_url, signing_key),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks a request to a signed URL: `key` is the path after [`BLOBS_PATH`], `query`
    /// the raw query string. Errors: `MalformedUrl` (400), `BadSignature` and `ExpiredUrl`
    /// (403).
    pub fn verify(&self, method: Method, key: &str, query: &str) -> Result<SignedRequest, Error> {
        if check_key(key).is_err() {
            return Err(Error::MalformedUrl(
                "the path is not a valid blob key".into(),
            ));
        }
        self.signer.verify(method, key, query)
    }

    /// Stores the body of a verified upload: exactly the signed size, or nothing.
    pub async fn receive_upload(
        &self,
        upload: &SignedRequest,
        body: ByteStream<'_>,
    ) -> Result<u64, Error> {
        let Some(expected) = upload.size.filter(|_| upload.method == Method::Put) else {
            return Err(Error::MalformedUrl(
                "this link is not an upload link".into(),
            ));
        };
        let (target, mut temp) = self.create_temp(&upload.key).await?;
        let received = write_stream(&mut temp.file, body, expected).await?;
        if received != expected {
            return Err(Error::IncompleteUpload { expected, received });
        }
        temp.commit(&target).await?;
        tracing::debug!(key = %upload.key, bytes = received, "stored an upload");
        Ok(received)
    }

    /// Opens a blob with its size, both from the same file (a download's Content-Length).
    pub async fn open_with_size(&self, key: &str) -> StorageResult<(BlobReader, u64)> {
        let path = self.path(key)?;
        let file = match File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(StorageError::NotFound(key.to_string()));
            }
            Err(e) => return Err(read_failed(e, &path)),
        };
        let metadata = file.metadata().await.map_err(|e| read_failed(e, &path))?;
        // A key that names a folder of other blobs is no blob itself.
        if !metadata.is_file() {
            return Err(StorageError::NotFound(key.to_string()));
        }
        Ok((Box::pin(file), metadata.len()))
    }

    fn path(&self, key: &str) -> StorageResult<PathBuf> {
        // Valid keys are relative and hold no `..`: the path stays under the root.
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// A new, empty temporary file in the target's folder (so `rename` stays on one
    /// filesystem and is atomic).
    async fn create_temp(&self, key: &str) -> StorageResult<(PathBuf, TempFile)> {
        let target = self.path(key)?;
        let folder = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(folder)
            .await
            .with_context(|| format!("cannot create the blob folder {}", folder.display()))?;
        let path = folder.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::now_v7().simple()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok((
            target,
            TempFile {
                path,
                file,
                committed: false,
            },
        ))
    }

    async fn put_file_inner(&self, key: &str, source: &Path) -> StorageResult<u64> {
        let (target, temp) = self.create_temp(key).await?;
        // fs::copy lets the kernel copy (copy_file_range, reflinks) without a user buffer.
        let size = fs::copy(source, &temp.path)
            .await
            .with_context(|| format!("cannot copy {} into the blob store", source.display()))?;
        temp.commit(&target).await?;
        tracing::debug!(key, bytes = size, "stored a file");
        Ok(size)
    }

    async fn put_stream_inner(
        &self,
        key: &str,
        body: ByteStream<'_>,
        max_bytes: u64,
    ) -> StorageResult<u64> {
        let (target, mut temp) = self.create_temp(key).await?;
        let size = write_stream(&mut temp.file, body, max_bytes).await?;
        temp.commit(&target).await?;
        tracing::debug!(key, bytes = size, "stored a stream");
        Ok(size)
    }

    async fn size_inner(&self, key: &str) -> StorageResult<Option<u64>> {
        let path = self.path(key)?;
        match fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(metadata.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(read_failed(e, &path)),
        }
    }

    async fn delete_inner(&self, key: &str) -> StorageResult<()> {
        let path = self.path(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => {
                tracing::debug!(key, "deleted a blob");
                Ok(())
            }
            // Deleting is idempotent, as on S3.
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::Backend(
                anyhow::Error::new(e).context(format!("cannot delete {}", path.display())),
            )),
        }
    }
}

fn read_failed(error: std::io::Error, path: &Path) -> StorageError {
    StorageError::Backend(
        anyhow::Error::new(error).context(format!("cannot read {}", path.display())),
    )
}

/// Writes `body` into `file`, refusing it past `max_bytes`; returns its size.
async fn write_stream(
    file: &mut File,
    mut body: ByteStream<'_>,
    max_bytes: u64,
) -> StorageResult<u64> {
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the upload broke off")?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(StorageError::TooLarge { limit: max_bytes });
        }
        writer
            .write_all(&chunk)
            .await
            .context("cannot write the blob")?;
    }
    writer.flush().await.context("cannot write the blob")?;
    Ok(size)
}

/// A temporary file that is removed unless committed, also when the future writing it is
/// dropped (a client that disconnects mid-upload).
struct TempFile {
    path: PathBuf,
    file: File,
    committed: bool,
}

impl TempFile {
    /// Makes the content durable, then moves it over the target in one step.
    async fn commit(mut self, target: &Path) -> StorageResult<()> {
        // The copy in put_file wrote through another handle; the inode is the same one.
        self.file
            .sync_all()
            .await
            .context("cannot write the blob")?;
        fs::rename(&self.path, target)
            .await
            .with_context(|| format!("cannot move the blob to {}", target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a temporary blob file");
        }
    }
}

impl BlobStore for LocalStore {
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
        Box::pin(async move { Ok(self.open_with_size(key).await?.0) })
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
        Box::pin(async move {
            check_key(key)?;
            check_ttl(ttl)?;
            let filename = filename.filter(|name| !name.is_empty());
            Ok(self.signer.sign(Method::Get, key, ttl, None, filename))
        })
    }

    fn upload_url<'a>(
        &'a self,
        key: &'a str,
        size: u64,
        ttl: Duration,
    ) -> BoxFuture<'a, StorageResult<String>> {
        Box::pin(async move {
            check_key(key)?;
            check_ttl(ttl)?;
            Ok(self.signer.sign(Method::Put, key, ttl, Some(size), None))
        })
    }
}
