//! A snapshot as a zip of the DICE layout (`annotations_<task>.json`, `splits.json`,
//! `images/…`), written while it is downloaded: files are read from the blob store one
//! after another and never held whole, and the archive never exists anywhere.

use super::import::blob_key;
use super::manifest::Manifest;
use crate::domain::Domain;
use crate::entities::{dataset_snapshots, datasets};
use crate::error::{Error, Result};
use crate::ids::SnapshotId;
use crate::storage::BlobStore;
use crate::time::now;
use crate::viewer::Viewer;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream};
use sea_orm::EntityTrait;
use std::io::Write;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;
use zip::write::SimpleFileOptions;

const SUBJECT_PREFIX: &str = "snapshot:";
const CHUNK: usize = 64 * 1024;

/// An archive being written: its file name and its bytes as they come.
pub struct SnapshotArchive {
    pub filename: String,
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

impl Domain {
    /// A link anyone may use, for `signed_url_ttl`, to download the snapshot as a zip.
    pub async fn snapshot_download_url(&self, viewer: &Viewer, id: SnapshotId) -> Result<String> {
        let snapshot = self.dataset_snapshot(viewer, id).await?;
        let ttl = chrono::Duration::from_std(self.config.signed_url_ttl)
            .map_err(|e| Error::Internal(e.into()))?;
        let token = self
            .keys
            .sign_download(&format!("{SUBJECT_PREFIX}{}", snapshot.id), now() + ttl)?;
        Ok(format!(
            "{}/api/v1/snapshots/{}/archive?token={token}",
            self.config.public_url, snapshot.id
        ))
    }

    /// The archive behind a download link; the token is the credential.
    pub async fn snapshot_archive(&self, id: SnapshotId, token: &str) -> Result<SnapshotArchive> {
        let subject = self.keys.verify_download(token)?;
        if subject != format!("{SUBJECT_PREFIX}{id}") {
            return Err(Error::Unauthenticated);
        }
        let snapshot = dataset_snapshots::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("snapshot"))?;
        let dataset = datasets::Entity::find_by_id(snapshot.dataset_id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("snapshot"))?;
        let manifest = self.read_manifest(&snapshot.manifest_key).await?;
        let (sender, receiver) = mpsc::channel(8);
        let blobs = self.blobs.clone();
        let runtime = tokio::runtime::Handle::current();
        let org = snapshot.org_id;
        tokio::task::spawn_blocking(move || {
            let mut sink = ChannelWriter::new(sender.clone());
            if let Err(e) = write_archive(&mut sink, &manifest, &blobs, org, &runtime) {
                tracing::warn!(error = %e, "a snapshot download ended early");
                // The client sees a broken body rather than a truncated but valid-looking zip.
                let _ = sender.blocking_send(Err(e));
            }
        });
        let body = stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        Ok(SnapshotArchive {
            filename: format!("{}-v{}.zip", file_stem(&dataset.name), snapshot.version),
            body: Box::pin(body),
        })
    }

    pub(crate) async fn read_manifest(&self, key: &str) -> Result<Manifest> {
        let mut reader = self.blobs.open(key).await.map_err(Error::storage)?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Internal(e.into()))
    }
}

fn write_archive(
    sink: &mut ChannelWriter,
    manifest: &Manifest,
    blobs: &Arc<dyn BlobStore>,
    org: crate::ids::OrgId,
    runtime: &tokio::runtime::Handle,
) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(&mut *sink);
    let json = SimpleFileOptions::default();
    // Images are compressed already: storing them is as small and much faster.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(manifest.task.annotations_file_name(), json)?;
    serde_json::to_writer(&mut zip, &manifest.annotations)?;
    zip.start_file("splits.json", json)?;
    serde_json::to_writer(&mut zip, &manifest.splits)?;
    for image in &manifest.images {
        zip.start_file(format!("images/{}", image.file_name), stored)?;
        let key = blob_key(org, &image.sha256);
        let reader = runtime
            .block_on(blobs.open(&key))
            .map_err(std::io::Error::other)?;
        let mut reader = SyncIoBridge::new_with_handle(reader, runtime.clone());
        std::io::copy(&mut reader, &mut zip)?;
    }
    zip.finish()?;
    sink.flush()
}

/// Sends what is written, in chunks, to the response body; blocks while the client is slow.
struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<std::io::Result<Bytes>>,
}

impl ChannelWriter {
    fn new(sender: mpsc::Sender<std::io::Result<Bytes>>) -> Self {
        Self {
            buffer: Vec::with_capacity(CHUNK),
            sender,
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was cancelled")
        })
    }
}

/// A file-name-safe version of a dataset name.
fn file_stem(name: &str) -> String {
    let slug = crate::validate::slugify(name);
    if slug.is_empty() {
        "dataset".into()
    } else {
        slug
    }
}
