//! Collecting stored files nothing refers to any more (after a dataset is deleted or its
//! content replaced), so an organization's `storageBytes` stays true.
//!
//! Files are shared between datasets and snapshots by content hash; the referenced ones are
//! the manifests of every dataset and snapshot of the organization and the images they
//! list. A file is removed only if it is referenced by none and was not stored or reused
//! within the grace period. The row is deleted, conditionally on that, in a transaction
//! that holds it while the file is removed: an import reusing the same file at that moment
//! waits on the row, finds it gone, and stores the file again.

use super::import::blob_key;
use crate::domain::Domain;
use crate::entities::{blobs, dataset_snapshots, datasets};
use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::tasks;
use crate::time::now;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use std::collections::HashSet;

pub const COLLECT_BLOBS: &str = "blobs.collect";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CollectReport {
    pub files: u64,
    pub bytes: i64,
}

pub(super) async fn schedule(db: &impl ConnectionTrait, org: OrgId) -> Result<()> {
    tasks::enqueue(db, COLLECT_BLOBS, json!({"org_id": org})).await?;
    Ok(())
}

impl Domain {
    /// Removes the organization's unreferenced files; see the module's comment.
    pub async fn collect_blobs(&self, org: OrgId) -> Result<CollectReport> {
        let cutoff = now() - self.config.blob_gc_grace;
        let referenced = self.referenced_hashes(org).await?;
        let idle = Condition::all()
            .add(blobs::Column::OrgId.eq(org))
            .add(blobs::Column::CreatedAt.lt(cutoff))
            .add(
                Condition::any()
                    .add(blobs::Column::LastUsedAt.is_null())
                    .add(blobs::Column::LastUsedAt.lt(cutoff)),
            );
        let candidates = blobs::Entity::find()
            .filter(idle.clone())
            .all(&self.db)
            .await?;
        let mut report = CollectReport::default();
        for blob in candidates
            .into_iter()
            .filter(|b| !referenced.contains(&b.sha256))
        {
            let tx = self.begin().await?;
            let gone = blobs::Entity::delete_many()
                .filter(idle.clone())
                .filter(blobs::Column::Id.eq(blob.id))
                .exec(&*tx)
                .await?;
            if gone.rows_affected == 0 {
                continue;
            }
            self.blobs.delete(&blob.key).await.map_err(Error::storage)?;
            self.commit(tx).await?;
            report.files += 1;
            report.bytes += blob.size;
        }
        Ok(report)
    }

    /// The hashes of every manifest of the organization's datasets and snapshots and of
    /// the images they list.
    async fn referenced_hashes(&self, org: OrgId) -> Result<HashSet<String>> {
        let mut manifests: HashSet<String> = datasets::Entity::find()
            .select_only()
            .column(datasets::Column::ManifestKey)
            .filter(datasets::Column::OrgId.eq(org))
            .into_tuple::<Option<String>>()
            .all(&self.db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        manifests.extend(
            dataset_snapshots::Entity::find()
                .select_only()
                .column(dataset_snapshots::Column::ManifestKey)
                .filter(dataset_snapshots::Column::OrgId.eq(org))
                .into_tuple::<String>()
                .all(&self.db)
                .await?,
        );
        let mut hashes = HashSet::new();
        for key in manifests {
            let manifest = self.read_manifest(&key).await?;
            hashes.extend(manifest.images.into_iter().map(|image| image.sha256));
            if let Some(hash) = key.strip_prefix(&blob_key(org, "")) {
                hashes.insert(hash.to_string());
            }
        }
        Ok(hashes)
    }
}
