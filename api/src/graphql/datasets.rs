//! Datasets.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::enums::{TaskType, UploadStatus};
use super::live;
use super::types::{CreatedDatasetUpload, Dataset, DatasetUpload, Snapshot, SplitConfigInput};
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use keynet_domain::datasets::{DatasetChanges, NewDataset};
use keynet_domain::events::{Event, dataset_topic};
use keynet_domain::ids::{DatasetId, DatasetUploadId, ProjectId, SnapshotId};

#[derive(InputObject)]
pub struct CreateDatasetInput {
    pub project_id: ID,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// Default: the project's task type.
    #[graphql(default)]
    pub task_types: Vec<TaskType>,
}

#[derive(InputObject)]
pub struct UpdateDatasetInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    /// How images without a given split are divided at the next import or snapshot.
    pub split_config: Option<SplitConfigInput>,
}

#[derive(InputObject)]
pub struct CreateDatasetSnapshotInput {
    pub dataset_id: ID,
    #[graphql(default)]
    pub note: String,
    /// Divides the images the upload did not place in a split again, for this snapshot
    /// only; default: the splits the dataset has.
    pub split_config: Option<SplitConfigInput>,
}

#[derive(Default)]
pub struct DatasetQuery;

#[Object]
impl DatasetQuery {
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn datasets(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        task_type: Option<TaskType>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Dataset>> {
        let project: ProjectId = parse_id(&project_id, "projectId")?;
        let datasets = domain(ctx)
            .datasets(
                viewer(ctx)?,
                project,
                task_type.map(Into::into),
                page(first, after)?,
            )
            .await?;
        Ok(connection(datasets, |d| d.id.0, Dataset))
    }

    async fn snapshot(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Snapshot> {
        let id: SnapshotId = parse_id(&id, "id")?;
        Ok(Snapshot(
            domain(ctx).dataset_snapshot(viewer(ctx)?, id).await?,
        ))
    }

    async fn dataset(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Dataset> {
        let id: DatasetId = parse_id(&id, "id")?;
        Ok(Dataset(domain(ctx).dataset(viewer(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub struct DatasetMutation;

#[Object]
impl DatasetMutation {
    async fn create_dataset(
        &self,
        ctx: &Context<'_>,
        input: CreateDatasetInput,
    ) -> ApiResult<Dataset> {
        let project: ProjectId = parse_id(&input.project_id, "projectId")?;
        let dataset = domain(ctx)
            .create_dataset(
                viewer(ctx)?,
                NewDataset {
                    project_id: project,
                    name: input.name,
                    description: input.description,
                    task_types: input.task_types.into_iter().map(Into::into).collect(),
                },
            )
            .await?;
        Ok(Dataset(dataset))
    }

    async fn update_dataset(
        &self,
        ctx: &Context<'_>,
        input: UpdateDatasetInput,
    ) -> ApiResult<Dataset> {
        let id: DatasetId = parse_id(&input.id, "id")?;
        let changes = DatasetChanges {
            name: input.name,
            description: input.description,
            split_config: input.split_config.map(Into::into),
        };
        Ok(Dataset(
            domain(ctx)
                .update_dataset(viewer(ctx)?, id, changes)
                .await?,
        ))
    }

    /// Starts an upload: PUT the zip to the returned URL, then `completeDatasetUpload`.
    async fn create_dataset_upload(
        &self,
        ctx: &Context<'_>,
        dataset_id: ID,
        filename: String,
        size_bytes: i64,
    ) -> ApiResult<CreatedDatasetUpload> {
        let id: DatasetId = parse_id(&dataset_id, "datasetId")?;
        let created = domain(ctx)
            .create_dataset_upload(viewer(ctx)?, id, &filename, size_bytes)
            .await?;
        Ok(CreatedDatasetUpload {
            upload: DatasetUpload(created.upload),
            upload_url: created.url,
        })
    }

    /// Checks the uploaded archive and queues its import.
    async fn complete_dataset_upload(
        &self,
        ctx: &Context<'_>,
        upload_id: ID,
    ) -> ApiResult<DatasetUpload> {
        let id: DatasetUploadId = parse_id(&upload_id, "uploadId")?;
        Ok(DatasetUpload(
            domain(ctx)
                .complete_dataset_upload(viewer(ctx)?, id)
                .await?,
        ))
    }

    /// Freezes the dataset's current content into the next numbered, immutable version.
    async fn create_dataset_snapshot(
        &self,
        ctx: &Context<'_>,
        input: CreateDatasetSnapshotInput,
    ) -> ApiResult<Snapshot> {
        let id: DatasetId = parse_id(&input.dataset_id, "datasetId")?;
        let snapshot = domain(ctx)
            .create_dataset_snapshot(
                viewer(ctx)?,
                id,
                &input.note,
                input.split_config.map(Into::into),
            )
            .await?;
        Ok(Snapshot(snapshot))
    }

    /// Admins and owners; removes the dataset's uploads and snapshots too.
    async fn delete_dataset(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id: DatasetId = parse_id(&id, "id")?;
        domain(ctx).delete_dataset(viewer(ctx)?, id).await?;
        Ok(true)
    }
}

/// A step of an import: `IMPORTING`, then `SUCCEEDED` or `FAILED`.
#[derive(SimpleObject)]
pub struct DatasetImportUpdate {
    pub dataset_id: ID,
    pub upload_id: ID,
    pub status: UploadStatus,
}

#[derive(Default)]
pub struct DatasetSubscription;

#[Subscription]
impl DatasetSubscription {
    /// The progress of the dataset's imports as they move on.
    async fn dataset_import(
        &self,
        ctx: &Context<'_>,
        dataset_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<DatasetImportUpdate>> + use<>, ApiError> {
        let id: DatasetId = parse_id(&dataset_id, "datasetId")?;
        let (dataset, guard) = live::admit(ctx, move |domain, viewer| async move {
            domain.dataset(&viewer, id).await
        })
        .await?;
        let updates = domain(ctx)
            .events()
            .subscribe(&dataset_topic(dataset.id))
            .filter_map(|event| async move {
                match event {
                    Event::DatasetImport {
                        dataset_id,
                        upload_id,
                        status,
                    } => Some(Ok(DatasetImportUpdate {
                        dataset_id: ID(dataset_id.to_string()),
                        upload_id: ID(upload_id.to_string()),
                        status: status.into(),
                    })),
                    _ => None,
                }
            });
        Ok(guard.watch(updates))
    }
}
