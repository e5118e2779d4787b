//! The import task: from an uploaded archive to the dataset's new content. The archive is
//! unpacked and checked by `keynet-datasets` on the blocking pool; images are stored once
//! per organization under their content hash; a manifest (images by hash, DICE annotations,
//! splits, statistics) becomes the dataset's content. A failed import records its errors and
//! leaves the dataset's content as it was.

use super::manifest::Manifest;
use super::uploads::record_import;
use crate::domain::{Domain, Tx};
use crate::entities::dataset_uploads::{self, UploadStatus};
use crate::entities::datasets::{self, ImportStatus};
use crate::entities::projects::TaskType;
use crate::entities::{blobs, dataset_import_errors};
use crate::error::{Error, Result};
use crate::events::{Event, dataset_topic};
use crate::ids::{BlobId, DatasetUploadId, ImportErrorId, OrgId};
use crate::time::now;
use keynet_datasets::{ImportFailure, Imported};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::io::AsyncWriteExt;

fn engine_task(task: TaskType) -> keynet_datasets::TaskType {
    match task {
        TaskType::Classification => keynet_datasets::TaskType::Classification,
        TaskType::Detection => keynet_datasets::TaskType::Detection,
        TaskType::Segmentation => keynet_datasets::TaskType::Segmentation,
        TaskType::Pose => keynet_datasets::TaskType::Pose,
    }
}

/// The name the API shows for a format (stable, unlike the engine's display text).
fn format_name(format: keynet_datasets::Format) -> &'static str {
    match format {
        keynet_datasets::Format::Dice => "dice",
        keynet_datasets::Format::Coco => "coco",
        keynet_datasets::Format::Yolo => "yolo",
        keynet_datasets::Format::ImageFolder => "image_folder",
    }
}

pub(crate) fn blob_key(org: OrgId, sha256: &str) -> String {
    format!("orgs/{org}/blobs/sha256/{sha256}")
}

impl Domain {
    /// Runs the import of one upload. Safe to run again after a crash: a finished upload is
    /// left alone, and stored files are found by their hash.
    pub async fn run_import(&self, upload: DatasetUploadId) -> Result<()> {
        let Some(upload) = dataset_uploads::Entity::find_by_id(upload)
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        if !matches!(
            upload.status,
            UploadStatus::Queued | UploadStatus::Importing
        ) {
            return Ok(());
        }
        let Some(dataset) = datasets::Entity::find_by_id(upload.dataset_id)
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        self.mark_import(&upload, UploadStatus::Importing, ImportStatus::Importing)
            .await?;

        let work = tempfile::TempDir::new_in(&self.config.work_dir)
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot create an import folder: {e}")))?;
        let archive = work.path().join("upload.zip");
        self.download(&upload.blob_key, &archive).await?;
        // The task types are kept in enum order: the first the upload fits is chosen.
        let tasks: Vec<keynet_datasets::TaskType> = dataset
            .task_types
            .0
            .iter()
            .copied()
            .map(engine_task)
            .collect();
        let split = super::engine_split(&dataset.split_config);
        let limits = self.config.import_limits.clone();
        let unpack_to = work.path().join("work");
        let outcome = tokio::task::spawn_blocking(move || {
            keynet_datasets::import_zip_for_any(&archive, &unpack_to, &tasks, &split, &limits)
        })
        .await
        .map_err(|e| Error::Internal(e.into()))?;
        match outcome {
            Ok(imported) => self.accept_import(&upload, &dataset, &imported).await?,
            Err(failure) => self.refuse_import(&upload, failure).await?,
        }
        // The archive is no longer needed: its images are stored, or it was refused.
        if let Err(e) = self.blobs.delete(&upload.blob_key).await {
            tracing::warn!(error = %e, "could not delete an imported archive");
        }
        Ok(())
    }

    async fn download(&self, key: &str, to: &Path) -> Result<()> {
        let mut reader = self.blobs.open(key).await.map_err(Error::storage)?;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        file.flush().await.map_err(|e| Error::Internal(e.into()))
    }

    async fn accept_import(
        &self,
        upload: &dataset_uploads::Model,
        dataset: &datasets::Model,
        imported: &Imported,
    ) -> Result<()> {
        for image in &imported.images {
            self.store_once(
                dataset.org_id,
                &image.sha256,
                image.size,
                &image.source_path,
            )
            .await?;
        }
        let manifest = Manifest::of(imported);
        let manifest_key = self.store_json(dataset.org_id, &manifest).await?;
        let statistics =
            serde_json::to_value(&imported.statistics).map_err(|e| Error::Internal(e.into()))?;

        let mut tx = self.begin().await?;
        let at = now();
        let mut changed: datasets::ActiveModel = dataset.clone().into();
        changed.manifest_key = Set(Some(manifest_key));
        changed.statistics = Set(Some(statistics));
        changed.format = Set(Some(format_name(imported.format).to_string()));
        changed.updated_at = Set(at);
        changed.update(&*tx).await?;
        record_import(&tx, upload, ImportStatus::Ready, None).await?;
        finish_upload(&*tx, upload, UploadStatus::Succeeded, 0, false).await?;
        // The content it replaced may now be referenced by nothing.
        super::collect::schedule(&*tx, dataset.org_id).await?;
        announce_import(&mut tx, upload, UploadStatus::Succeeded);
        self.commit(tx).await?;
        Ok(())
    }

    async fn refuse_import(
        &self,
        upload: &dataset_uploads::Model,
        failure: ImportFailure,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let errors = failure
            .errors
            .iter()
            .map(|issue| dataset_import_errors::ActiveModel {
                id: Set(ImportErrorId::new()),
                org_id: Set(upload.org_id),
                upload_id: Set(upload.id),
                file: Set(issue.file.clone()),
                reason: Set(issue.reason.clone()),
            });
        // Batches keep each statement under the databases' parameter limits.
        let errors: Vec<_> = errors.collect();
        for batch in errors.chunks(200) {
            dataset_import_errors::Entity::insert_many(batch.to_vec())
                .exec(&*tx)
                .await?;
        }
        let count = i32::try_from(failure.errors.len()).unwrap_or(i32::MAX);
        finish_upload(&*tx, upload, UploadStatus::Failed, count, failure.truncated).await?;
        // The dataset keeps its content: only the record of the latest import changes.
        record_import(&tx, upload, ImportStatus::Failed, Some(failure.to_string())).await?;
        announce_import(&mut tx, upload, UploadStatus::Failed);
        self.commit(tx).await?;
        Ok(())
    }

    /// Stores a file under its hash unless the organization already has it.
    async fn store_once(&self, org: OrgId, sha256: &str, size: u64, path: &Path) -> Result<String> {
        let key = blob_key(org, sha256);
        // Marking it used, rather than only looking it up, keeps the collector away from it
        // (see `collect_blobs`): the update waits while the collector holds its row.
        let known = blobs::Entity::update_many()
            .col_expr(blobs::Column::LastUsedAt, Expr::value(now()))
            .filter(blobs::Column::OrgId.eq(org))
            .filter(blobs::Column::Sha256.eq(sha256))
            .exec(&self.db)
            .await?;
        if known.rows_affected > 0 {
            return Ok(key);
        }
        self.blobs
            .put_file(&key, path)
            .await
            .map_err(Error::storage)?;
        blobs::Entity::insert(blobs::ActiveModel {
            id: Set(BlobId::new()),
            org_id: Set(org),
            sha256: Set(sha256.to_string()),
            size: Set(size as i64),
            key: Set(key.clone()),
            created_at: Set(now()),
            last_used_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([blobs::Column::OrgId, blobs::Column::Sha256])
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec(&self.db)
        .await?;
        Ok(key)
    }

    /// Stores a JSON document content-addressed, like any other file; returns its key.
    pub(crate) async fn store_json(&self, org: OrgId, value: &impl Serialize) -> Result<String> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Internal(e.into()))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let file = tempfile::NamedTempFile::new_in(&self.config.work_dir)
            .map_err(|e| Error::Internal(e.into()))?;
        tokio::fs::write(file.path(), &bytes)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        self.store_once(org, &sha256, bytes.len() as u64, file.path())
            .await
    }

    async fn mark_import(
        &self,
        upload: &dataset_uploads::Model,
        upload_status: UploadStatus,
        dataset_status: ImportStatus,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        dataset_uploads::Entity::update_many()
            .col_expr(
                dataset_uploads::Column::Status,
                sea_orm::sea_query::Expr::value(upload_status),
            )
            .filter(dataset_uploads::Column::Id.eq(upload.id))
            .exec(&*tx)
            .await?;
        record_import(&tx, upload, dataset_status, None).await?;
        announce_import(&mut tx, upload, upload_status);
        self.commit(tx).await?;
        Ok(())
    }
}

fn announce_import(tx: &mut Tx, upload: &dataset_uploads::Model, status: UploadStatus) {
    tx.announce(
        dataset_topic(upload.dataset_id),
        Event::DatasetImport {
            dataset_id: upload.dataset_id,
            upload_id: upload.id,
            status,
        },
    );
}

async fn finish_upload(
    db: &impl ConnectionTrait,
    upload: &dataset_uploads::Model,
    status: UploadStatus,
    error_count: i32,
    truncated: bool,
) -> Result<()> {
    let mut done: dataset_uploads::ActiveModel = upload.clone().into();
    done.status = Set(status);
    done.error_count = Set(error_count);
    done.errors_truncated = Set(truncated);
    done.completed_at = Set(Some(now()));
    done.update(db).await?;
    Ok(())
}
