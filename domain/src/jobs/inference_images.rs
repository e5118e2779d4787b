//! Links to the images an inference job's predictions are about, so people see each
//! prediction on its image: the uploaded image, or the snapshot's images by file name.

use crate::datasets::blob_key;
use crate::domain::Domain;
use crate::entities::{dataset_snapshots, inference_uploads, jobs};
use crate::error::{Error, Result};
use sea_orm::EntityTrait;
use std::collections::HashMap;

impl Domain {
    /// For each of `file_names` (of the job's results) that names an image of its input, a
    /// URL showing it for the signed-URL lifetime. The caller has checked the job is the
    /// viewer's to see.
    pub async fn inference_image_urls(
        &self,
        job: &jobs::Model,
        file_names: &[&str],
    ) -> Result<HashMap<String, String>> {
        let mut keys: HashMap<String, String> = HashMap::new();
        if let Some(upload) = job.inference_upload_id {
            // One image: every result is about it.
            if let Some(upload) = inference_uploads::Entity::find_by_id(upload)
                .one(&self.db)
                .await?
            {
                for name in file_names {
                    keys.insert(name.to_string(), upload.blob_key.clone());
                }
            }
        } else if let Some(snapshot) = job.snapshot_id {
            let snapshot = dataset_snapshots::Entity::find_by_id(snapshot)
                .one(&self.db)
                .await?
                .ok_or(Error::NotFound("snapshot"))?;
            let manifest = self.read_manifest(&snapshot.manifest_key).await?;
            let by_name: HashMap<&str, &str> = manifest
                .images
                .iter()
                .map(|image| (image.file_name.as_str(), image.sha256.as_str()))
                .collect();
            for name in file_names {
                if let Some(sha256) = by_name.get(name) {
                    keys.insert(name.to_string(), blob_key(snapshot.org_id, sha256));
                }
            }
        }
        let mut urls = HashMap::with_capacity(keys.len());
        for (name, key) in keys {
            let shown = name.rsplit('/').next().map(str::to_string);
            let url = self
                .blobs
                .download_url(&key, self.config.signed_url_ttl, shown.as_deref())
                .await
                .map_err(Error::storage)?;
            urls.insert(name, url);
        }
        Ok(urls)
    }
}
