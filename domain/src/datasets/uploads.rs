//! Getting an archive in: a signed upload URL the client PUTs to, then `complete`; or a
//! direct upload through Keynet for scripts. Either way the import is queued in the same
//! transaction that marks the upload received.

use crate::domain::{Domain, Tx};
use crate::entities::dataset_import_errors;
use crate::entities::dataset_uploads::{self, UploadStatus};
use crate::entities::datasets::{self, ImportStatus};
use crate::error::{Error, Result};
use crate::ids::{DatasetId, DatasetUploadId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::storage::{ByteStream, StorageError};
use crate::tasks::enqueue;
use crate::time::now;
use crate::viewer::Viewer;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, Set};
use serde_json::json;

/// The task kind of an import; its payload is `{"upload_id": …}`.
pub const IMPORT_DATASET: &str = "dataset.import";

const MAX_FILENAME: usize = 255;

pub struct CreatedUpload {
    pub upload: dataset_uploads::Model,
    /// PUT the archive's bytes here (exactly the declared size) before it expires.
    pub url: String,
}

impl Domain {
    pub async fn create_dataset_upload(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        filename: &str,
        size_bytes: i64,
    ) -> Result<CreatedUpload> {
        let dataset = self.writable_dataset(viewer, dataset).await?;
        let filename = check_filename(filename)?;
        let size = u64::try_from(size_bytes)
            .ok()
            .filter(|size| (1..=self.config.max_upload_bytes).contains(size))
            .ok_or_else(|| {
                Error::invalid(
                    "sizeBytes",
                    format!(
                        "must be between 1 and {} bytes",
                        self.config.max_upload_bytes
                    ),
                )
            })?;
        let upload = self
            .insert_upload(
                &dataset,
                filename,
                size,
                viewer,
                UploadStatus::AwaitingUpload,
            )
            .await?;
        let url = self
            .blobs
            .upload_url(&upload.blob_key, size, self.config.signed_url_ttl)
            .await
            .map_err(storage_error)?;
        Ok(CreatedUpload { upload, url })
    }

    /// The client says the PUT is done: the stored archive must have the declared size.
    pub async fn complete_dataset_upload(
        &self,
        viewer: &Viewer,
        upload: DatasetUploadId,
    ) -> Result<dataset_uploads::Model> {
        let upload = self.dataset_upload(viewer, upload).await?;
        viewer.require(upload.org_id, Permission::WriteProjects)?;
        if upload.status != UploadStatus::AwaitingUpload {
            return Err(Error::conflict("this upload was already completed"));
        }
        let stored = self
            .blobs
            .size(&upload.blob_key)
            .await
            .map_err(storage_error)?;
        match stored {
            None => return Err(Error::invalid("uploadId", "nothing was uploaded yet")),
            Some(size) if size as i64 != upload.declared_size => {
                return Err(Error::invalid(
                    "uploadId",
                    format!(
                        "{size} bytes were uploaded, {} were declared",
                        upload.declared_size
                    ),
                ));
            }
            Some(_) => {}
        }
        self.queue_import(upload.into()).await
    }

    /// Stores an archive sent through Keynet (multipart upload) and queues its import.
    pub async fn upload_dataset_archive(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        filename: &str,
        body: ByteStream<'_>,
    ) -> Result<dataset_uploads::Model> {
        let dataset = self.writable_dataset(viewer, dataset).await?;
        let filename = check_filename(filename)?;
        let upload = self
            .insert_upload(&dataset, filename, 0, viewer, UploadStatus::AwaitingUpload)
            .await?;
        let stored = self
            .blobs
            .put_stream(&upload.blob_key, body, self.config.max_upload_bytes)
            .await;
        let size = match stored {
            Ok(size) => size,
            Err(error) => {
                dataset_uploads::Entity::delete_by_id(upload.id)
                    .exec(&self.db)
                    .await?;
                return Err(storage_error(error));
            }
        };
        if size == 0 {
            dataset_uploads::Entity::delete_by_id(upload.id)
                .exec(&self.db)
                .await?;
            return Err(Error::invalid("file", "the file is empty"));
        }
        // The size is known only now; it must be marked as changed to be written.
        let mut received: dataset_uploads::ActiveModel = upload.into();
        received.declared_size = Set(size as i64);
        self.queue_import(received).await
    }

    pub async fn dataset_upload(
        &self,
        viewer: &Viewer,
        id: DatasetUploadId,
    ) -> Result<dataset_uploads::Model> {
        let upload = find_scoped::<dataset_uploads::Entity>(
            &self.db,
            viewer,
            (dataset_uploads::Column::Id, id),
            dataset_uploads::Column::OrgId,
            "upload",
        )
        .await?;
        viewer.require(upload.org_id, Permission::ReadProjects)?;
        Ok(upload)
    }

    /// The dataset's uploads, newest first.
    pub async fn dataset_uploads(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        page: PageRequest,
    ) -> Result<Page<dataset_uploads::Model>> {
        let dataset = self.dataset(viewer, dataset).await?;
        let query = dataset_uploads::Entity::find()
            .filter(dataset_uploads::Column::DatasetId.eq(dataset.id));
        let rows = page
            .apply(query, dataset_uploads::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// What the most recent import of the dataset refused (file and reason), in order.
    pub async fn import_errors(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        page: PageRequest,
    ) -> Result<Page<dataset_import_errors::Model>> {
        let dataset = self.dataset(viewer, dataset).await?;
        let latest = dataset_uploads::Entity::find()
            .filter(dataset_uploads::Column::DatasetId.eq(dataset.id))
            .filter(
                dataset_uploads::Column::Status
                    .is_in([UploadStatus::Succeeded, UploadStatus::Failed]),
            )
            .order_by_desc(dataset_uploads::Column::Id)
            .one(&self.db)
            .await?;
        let Some(latest) = latest else {
            return Ok(page.finish(Vec::new()));
        };
        let query = dataset_import_errors::Entity::find()
            .filter(dataset_import_errors::Column::UploadId.eq(latest.id));
        let rows = page
            .apply(query, dataset_import_errors::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    async fn writable_dataset(&self, viewer: &Viewer, id: DatasetId) -> Result<datasets::Model> {
        let dataset = self.dataset(viewer, id).await?;
        viewer.require(dataset.org_id, Permission::WriteProjects)?;
        Ok(dataset)
    }

    async fn insert_upload(
        &self,
        dataset: &datasets::Model,
        filename: String,
        size: u64,
        viewer: &Viewer,
        status: UploadStatus,
    ) -> Result<dataset_uploads::Model> {
        let id = DatasetUploadId::new();
        Ok(dataset_uploads::ActiveModel {
            id: Set(id),
            org_id: Set(dataset.org_id),
            dataset_id: Set(dataset.id),
            filename: Set(filename),
            declared_size: Set(size as i64),
            blob_key: Set(format!("orgs/{}/uploads/{id}.zip", dataset.org_id)),
            status: Set(status),
            error_count: Set(0),
            errors_truncated: Set(false),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(now()),
            completed_at: Set(None),
        }
        .insert(&self.db)
        .await?)
    }

    /// Marks the upload queued (with whatever else the caller set on it) and queues its
    /// import.
    async fn queue_import(
        &self,
        mut upload: dataset_uploads::ActiveModel,
    ) -> Result<dataset_uploads::Model> {
        let tx = self.begin().await?;
        upload.status = Set(UploadStatus::Queued);
        let upload = upload.update(&*tx).await?;
        record_import(&tx, &upload, ImportStatus::Queued, None).await?;
        enqueue(&*tx, IMPORT_DATASET, json!({"upload_id": upload.id})).await?;
        self.commit(tx).await?;
        Ok(upload)
    }
}

/// Records on the dataset how its latest import (of `upload`) stands: the status, since
/// when, and why it was refused. The content, and so whether the dataset is usable, is not
/// touched.
pub(crate) async fn record_import(
    tx: &Tx,
    upload: &dataset_uploads::Model,
    status: ImportStatus,
    error: Option<String>,
) -> Result<()> {
    let at = now();
    datasets::Entity::update_many()
        .col_expr(datasets::Column::ImportStatus, Expr::value(status))
        .col_expr(datasets::Column::LastImportUploadId, Expr::value(upload.id))
        .col_expr(datasets::Column::LastImportAt, Expr::value(at))
        .col_expr(datasets::Column::LastImportError, Expr::value(error))
        .col_expr(datasets::Column::UpdatedAt, Expr::value(at))
        .filter(datasets::Column::Id.eq(upload.dataset_id))
        .exec(&**tx)
        .await?;
    Ok(())
}

/// A plain file name ending in `.zip`: it is shown back to people, never used as a path.
fn check_filename(name: &str) -> Result<String> {
    let name = name.trim();
    let plain = !name.is_empty()
        && name.chars().count() <= MAX_FILENAME
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if !plain || !name.to_lowercase().ends_with(".zip") {
        return Err(Error::invalid(
            "filename",
            "a .zip file name, without folders",
        ));
    }
    Ok(name.to_string())
}

fn storage_error(error: StorageError) -> Error {
    match error {
        StorageError::TooLarge { limit } => Error::invalid(
            "file",
            format!("the archive is larger than the {limit} bytes allowed"),
        ),
        StorageError::NotFound(_) => Error::NotFound("upload"),
        StorageError::Backend(cause) => Error::Internal(cause),
    }
}
