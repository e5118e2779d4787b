//! Datasets: labelled images of a project, imported from uploads and frozen into snapshots.

mod archive;
mod collect;
mod import;
mod manifest;
mod materialize;
mod samples;
mod snapshots;
mod uploads;

pub use archive::SnapshotArchive;
pub use collect::{COLLECT_BLOBS, CollectReport};
pub(crate) use import::blob_key;
pub use samples::{MAX_SAMPLES, Sample, SampleLabel, Samples, SplitName};
pub use uploads::{CreatedUpload, IMPORT_DATASET};

use crate::audit::Change;
use crate::domain::Domain;
use crate::entities::datasets::{self, ImportStatus, SplitConfig, TaskTypes};
use crate::entities::projects::TaskType;
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{DatasetId, ProjectId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::search::json_array_has;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, Set};
use serde_json::json;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 5000;
const NAME_TAKEN: &str = "this project already has a dataset with this name";

pub struct NewDataset {
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub task_types: Vec<TaskType>,
}

#[derive(Default)]
pub struct DatasetChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub split_config: Option<SplitConfig>,
}

/// The dataset engine's form of a split configuration.
pub(crate) fn engine_split(config: &SplitConfig) -> keynet_datasets::SplitConfig {
    keynet_datasets::SplitConfig {
        train: config.train,
        val: config.val,
        test: config.test,
        seed: config.seed,
    }
}

/// Ratios must be non-negative and add up to 1.
pub fn check_split_config(config: &SplitConfig) -> Result<()> {
    let ratios = [config.train, config.val, config.test];
    if ratios.iter().any(|r| !r.is_finite() || *r < 0.0)
        || (ratios.iter().sum::<f64>() - 1.0).abs() > 1e-6
    {
        return Err(Error::invalid(
            "splitConfig",
            "train, val and test are ratios of at least 0 that add up to 1",
        ));
    }
    Ok(())
}

impl Domain {
    pub async fn create_dataset(
        &self,
        viewer: &Viewer,
        input: NewDataset,
    ) -> Result<datasets::Model> {
        let project = self.project(viewer, input.project_id).await?;
        viewer.require(project.org_id, Permission::WriteProjects)?;
        if project.archived_at.is_some() {
            return Err(Error::conflict("the project is archived"));
        }
        let name = validate::name("name", &input.name, MAX_NAME)?;
        let description = validate::text("description", &input.description, MAX_DESCRIPTION)?;
        let mut task_types = input.task_types;
        task_types.sort_by_key(|t| *t as u8);
        task_types.dedup();
        if task_types.is_empty() {
            task_types.push(project.task_type);
        }
        let mut tx = self.begin().await?;
        let at = now();
        let dataset = datasets::ActiveModel {
            id: Set(DatasetId::new()),
            org_id: Set(project.org_id),
            project_id: Set(project.id),
            name: Set(name),
            description: Set(description),
            task_types: Set(TaskTypes(task_types)),
            split_config: Set(SplitConfig::default()),
            import_status: Set(ImportStatus::Empty),
            format: Set(None),
            manifest_key: Set(None),
            statistics: Set(None),
            last_import_upload_id: Set(None),
            last_import_at: Set(None),
            last_import_error: Set(None),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await
        .map_err(|e| conflict_on_unique(e, NAME_TAKEN))?;
        Change::new(dataset.org_id, "dataset.created", "dataset", dataset.id)
            .by(viewer)
            .meta(json!({"name": dataset.name, "project_id": project.id}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(dataset)
    }

    pub async fn datasets(
        &self,
        viewer: &Viewer,
        project: ProjectId,
        task_type: Option<TaskType>,
        page: PageRequest,
    ) -> Result<Page<datasets::Model>> {
        let project = self.project(viewer, project).await?;
        let mut query = datasets::Entity::find().filter(datasets::Column::ProjectId.eq(project.id));
        if let Some(task_type) = task_type {
            query = query.filter(json_array_has(
                datasets::Column::TaskTypes,
                task_type_name(task_type),
            ));
        }
        let rows = page
            .apply(query, datasets::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn dataset(&self, viewer: &Viewer, id: DatasetId) -> Result<datasets::Model> {
        let dataset = find_scoped::<datasets::Entity>(
            &self.db,
            viewer,
            (datasets::Column::Id, id),
            datasets::Column::OrgId,
            "dataset",
        )
        .await?;
        viewer.require(dataset.org_id, Permission::ReadProjects)?;
        Ok(dataset)
    }

    pub async fn update_dataset(
        &self,
        viewer: &Viewer,
        id: DatasetId,
        changes: DatasetChanges,
    ) -> Result<datasets::Model> {
        let dataset = self.dataset(viewer, id).await?;
        viewer.require(dataset.org_id, Permission::WriteProjects)?;
        let name = changes
            .name
            .map(|n| validate::name("name", &n, MAX_NAME))
            .transpose()?;
        let description = changes
            .description
            .map(|d| validate::text("description", &d, MAX_DESCRIPTION))
            .transpose()?;
        if let Some(config) = &changes.split_config {
            check_split_config(config)?;
        }
        let mut tx = self.begin().await?;
        let mut changed: datasets::ActiveModel = dataset.into();
        if let Some(name) = name {
            changed.name = Set(name);
        }
        if let Some(description) = description {
            changed.description = Set(description);
        }
        if let Some(config) = changes.split_config {
            changed.split_config = Set(config);
        }
        changed.updated_at = Set(now());
        let dataset = changed
            .update(&*tx)
            .await
            .map_err(|e| conflict_on_unique(e, NAME_TAKEN))?;
        Change::new(dataset.org_id, "dataset.updated", "dataset", id)
            .by(viewer)
            .meta(json!({"name": dataset.name, "split_config": dataset.split_config}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(dataset)
    }

    /// Removes the dataset, its uploads and snapshots. Stored files shared with other
    /// datasets stay; the others are collected by a task.
    pub async fn delete_dataset(&self, viewer: &Viewer, id: DatasetId) -> Result<()> {
        let dataset = self.dataset(viewer, id).await?;
        viewer.require(dataset.org_id, Permission::DeleteDatasets)?;
        let mut tx = self.begin().await?;
        datasets::Entity::delete_by_id(id).exec(&*tx).await?;
        collect::schedule(&*tx, dataset.org_id).await?;
        Change::new(dataset.org_id, "dataset.deleted", "dataset", id)
            .by(viewer)
            .meta(json!({"name": dataset.name}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await
    }
}

pub fn task_type_name(task_type: TaskType) -> &'static str {
    match task_type {
        TaskType::Classification => "classification",
        TaskType::Detection => "detection",
        TaskType::Segmentation => "segmentation",
        TaskType::Pose => "pose",
    }
}
