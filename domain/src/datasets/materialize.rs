//! A snapshot written out as the DICE folder a trainer reads (`/keynet/input/dataset`):
//! annotations for its task, `splits.json`, and `images/…` copied from the blob store.

use super::import::blob_key;
use crate::domain::Domain;
use crate::entities::dataset_snapshots;
use crate::error::{Error, Result};
use crate::ids::SnapshotId;
use sea_orm::EntityTrait;
use std::path::Path;

impl Domain {
    /// Writes the snapshot under `dir` (created; must not hold another dataset). Workers
    /// call it; the caller checked that the job may use the snapshot.
    pub async fn materialize_snapshot(&self, id: SnapshotId, dir: &Path) -> Result<()> {
        let snapshot = dataset_snapshots::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("snapshot"))?;
        let manifest = self.read_manifest(&snapshot.manifest_key).await?;
        let io = |e: std::io::Error| {
            Error::Internal(
                anyhow::Error::new(e).context(format!("writing the dataset to {}", dir.display())),
            )
        };
        tokio::fs::create_dir_all(dir.join("images"))
            .await
            .map_err(io)?;
        let annotations =
            serde_json::to_vec(&manifest.annotations).map_err(|e| Error::Internal(e.into()))?;
        tokio::fs::write(dir.join(manifest.task.annotations_file_name()), annotations)
            .await
            .map_err(io)?;
        let splits = serde_json::to_vec(&manifest.splits).map_err(|e| Error::Internal(e.into()))?;
        tokio::fs::write(dir.join("splits.json"), splits)
            .await
            .map_err(io)?;
        for image in &manifest.images {
            // Names were checked on import (no `..`, no absolute paths); check again anyway,
            // since this writes to the worker's disk.
            if !crate::jobs::relay::is_relative_path(&image.file_name) {
                return Err(Error::Internal(anyhow::anyhow!(
                    "unsafe image name in a manifest: {}",
                    image.file_name
                )));
            }
            let target = dir.join("images").join(&image.file_name);
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            let mut reader = self
                .blobs
                .open(&blob_key(snapshot.org_id, &image.sha256))
                .await
                .map_err(Error::storage)?;
            let mut file = tokio::fs::File::create(&target).await.map_err(io)?;
            tokio::io::copy(&mut reader, &mut file).await.map_err(io)?;
        }
        Ok(())
    }
}
