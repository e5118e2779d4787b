//! Snapshots: immutable, numbered versions of a dataset. A snapshot refers to the manifest
//! the dataset had (a content-addressed blob listing images by hash, annotations and
//! splits), so a later import never changes it, and files unchanged between versions are
//! stored once. Jobs only ever use snapshots.

use super::{check_split_config, engine_split};
use crate::audit::Change;
use crate::domain::Domain;
use crate::entities::dataset_snapshots;
use crate::entities::datasets::{self, SplitConfig};
use crate::error::{Error, Result};
use crate::ids::{DatasetId, SnapshotId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, Set};
use serde_json::json;

const MAX_NOTE: usize = 5000;

/// A number from the import statistics (absent on older or partial statistics: 0).
fn statistic(dataset: &datasets::Model, name: &str) -> i64 {
    dataset
        .statistics
        .as_ref()
        .and_then(|s| s.get(name))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}

impl Domain {
    /// Freezes the dataset's current content. With `split_config`, the images the upload
    /// did not place in a split are divided again by it (the dataset itself is unchanged).
    pub async fn create_dataset_snapshot(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        note: &str,
        split_config: Option<SplitConfig>,
    ) -> Result<dataset_snapshots::Model> {
        let dataset = self.dataset(viewer, dataset).await?;
        viewer.require(dataset.org_id, Permission::WriteProjects)?;
        let note = validate::text("note", note, MAX_NOTE)?;
        let resplit = match split_config {
            Some(config) => {
                check_split_config(&config)?;
                Some((self.resplit_manifest(&dataset, &config).await?, config))
            }
            None => None,
        };
        let mut tx = self.begin().await?;
        // Serializes snapshots of one dataset, so version numbers are consecutive.
        datasets::Entity::update_many()
            .col_expr(
                datasets::Column::UpdatedAt,
                Expr::col(datasets::Column::UpdatedAt).into(),
            )
            .filter(datasets::Column::Id.eq(dataset.id))
            .exec(&*tx)
            .await?;
        let current = datasets::Entity::find_by_id(dataset.id)
            .one(&*tx)
            .await?
            .ok_or(Error::NotFound("dataset"))?;
        let Some(manifest_key) = current.manifest_key.clone() else {
            return Err(Error::conflict("the dataset has no imported data yet"));
        };
        let (manifest_key, split_config) = match resplit {
            Some(((based_on, divided), config)) => {
                if based_on != manifest_key {
                    return Err(Error::conflict(
                        "the dataset was imported again meanwhile; try again",
                    ));
                }
                (divided, config)
            }
            None => (manifest_key, current.split_config),
        };
        let latest = dataset_snapshots::Entity::find()
            .filter(dataset_snapshots::Column::DatasetId.eq(dataset.id))
            .order_by_desc(dataset_snapshots::Column::Version)
            .one(&*tx)
            .await?;
        let snapshot = dataset_snapshots::ActiveModel {
            id: Set(SnapshotId::new()),
            org_id: Set(current.org_id),
            dataset_id: Set(current.id),
            version: Set(latest.map_or(1, |s| s.version + 1)),
            note: Set(note),
            split_config: Set(split_config),
            manifest_key: Set(manifest_key),
            image_count: Set(statistic(&current, "images")),
            size_bytes: Set(statistic(&current, "total_bytes")),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(now()),
        }
        .insert(&*tx)
        .await?;
        Change::new(
            current.org_id,
            "dataset.snapshot_created",
            "dataset_snapshot",
            snapshot.id,
        )
        .by(viewer)
        .meta(json!({"dataset_id": current.id, "version": snapshot.version}))
        .record(&mut tx)
        .await?;
        self.commit(tx).await?;
        Ok(snapshot)
    }

    /// The dataset's manifest with its splits divided by `config`, stored: (the manifest it
    /// was made from, the new one).
    async fn resplit_manifest(
        &self,
        dataset: &datasets::Model,
        config: &SplitConfig,
    ) -> Result<(String, String)> {
        let Some(based_on) = dataset.manifest_key.clone() else {
            return Err(Error::conflict("the dataset has no imported data yet"));
        };
        let mut manifest = self.read_manifest(&based_on).await?;
        manifest.splits = keynet_datasets::resplit(
            &manifest.splits,
            &manifest.given_split,
            manifest.task,
            &manifest.annotations,
            &engine_split(config),
        );
        let divided = self.store_json(dataset.org_id, &manifest).await?;
        Ok((based_on, divided))
    }

    /// Newest first.
    pub async fn dataset_snapshots(
        &self,
        viewer: &Viewer,
        dataset: DatasetId,
        page: PageRequest,
    ) -> Result<Page<dataset_snapshots::Model>> {
        let dataset = self.dataset(viewer, dataset).await?;
        let query = dataset_snapshots::Entity::find()
            .filter(dataset_snapshots::Column::DatasetId.eq(dataset.id));
        let rows = page
            .apply(query, dataset_snapshots::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn dataset_snapshot(
        &self,
        viewer: &Viewer,
        id: SnapshotId,
    ) -> Result<dataset_snapshots::Model> {
        let snapshot = find_scoped::<dataset_snapshots::Entity>(
            &self.db,
            viewer,
            (dataset_snapshots::Column::Id, id),
            dataset_snapshots::Column::OrgId,
            "snapshot",
        )
        .await?;
        viewer.require(snapshot.org_id, Permission::ReadProjects)?;
        Ok(snapshot)
    }
}
