//! Trainers and their versions. An org admin registers an image that is already on the
//! workers' Docker engine (or a program an operator placed in an allowed folder) as a new,
//! immutable version: the path for private images. Pushed versions come through the
//! marketplace crate, which names and numbers them with the helpers at the end of this file.

use crate::audit::Change;
use crate::domain::{Domain, Tx};
use crate::entities::datasets::TaskTypes;
use crate::entities::projects::TaskType;
use crate::entities::trainer_versions::{self, Checks, Runtime, VersionStatus};
use crate::entities::trainers::{self, Names};
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{OrgId, TrainerId, TrainerVersionId, UserId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::Viewer;
use keynet_hyperparameters::{HyperParameter, HyperParameterSchema};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    Set,
};
use serde_json::json;

/// Formats `startExportJob` knows; a trainer declares the subset it can produce.
pub const EXPORT_FORMATS: [&str; 6] = [
    "onnx",
    "torchscript",
    "tensorrt",
    "coreml",
    "tflite",
    "openvino",
];

pub struct NewTrainerImage {
    pub org_id: OrgId,
    pub name: String,
    pub image: String,
    pub framework: Option<String>,
    pub hyperparameters: Vec<HyperParameter>,
    pub task_types: Vec<TaskType>,
    pub export_formats: Vec<String>,
}

/// What the workers' engine says the image is: resolved before registration, so a version
/// always points at an immutable id.
pub struct ResolvedProgram {
    pub runtime: Runtime,
    pub reference: String,
}

pub struct TrainerVersionView {
    pub trainer: trainers::Model,
    pub version: trainer_versions::Model,
}

pub fn check_export_formats(formats: Vec<String>) -> Result<Vec<String>> {
    let mut clean: Vec<String> = Vec::new();
    for format in formats {
        let format = format.trim().to_ascii_lowercase();
        if !EXPORT_FORMATS.contains(&format.as_str()) {
            return Err(Error::invalid(
                "exportFormats",
                format!(
                    "unknown export format {format:?}; known: {}",
                    EXPORT_FORMATS.join(", ")
                ),
            ));
        }
        if !clean.contains(&format) {
            clean.push(format);
        }
    }
    Ok(clean)
}

impl Domain {
    /// Records `resolved` as the next version of the org's trainer called `input.name`,
    /// creating the trainer on first use.
    pub async fn register_trainer_image(
        &self,
        viewer: &Viewer,
        input: NewTrainerImage,
        resolved: ResolvedProgram,
    ) -> Result<TrainerVersionView> {
        viewer.require(input.org_id, Permission::ManageTrainers)?;
        let name = validate::name("name", &input.name, 100)?;
        let slug = validate::slugify(&name);
        if slug.is_empty() {
            return Err(Error::invalid("name", "needs at least one letter or digit"));
        }
        let schema = HyperParameterSchema::checked(input.hyperparameters)?;
        if input.task_types.is_empty() {
            return Err(Error::invalid("taskTypes", "name at least one task type"));
        }
        let export_formats = check_export_formats(input.export_formats)?;
        let framework = validate::name(
            "framework",
            input.framework.as_deref().unwrap_or("custom"),
            50,
        )?;
        let mut tx = self.begin().await?;
        let at = now();
        let trainer = trainer_named(
            &tx,
            viewer,
            input.org_id,
            name,
            TaskTypes(input.task_types.clone()),
            Names(vec![framework.clone()]),
        )
        .await?;
        let new = NewVersion {
            image: input.image.trim().to_string(),
            runtime: resolved.runtime,
            reference: resolved.reference,
            status: VersionStatus::Ready,
            framework,
            hyperparameters: schema,
            task_types: TaskTypes(input.task_types),
            export_formats: Names(export_formats),
            manifest_digest: None,
            created_by: Some(viewer.user_id),
            at,
        };
        let race = "another version of this trainer was registered at the same time; try again";
        let version = insert_version(&tx, &trainer, new, race).await?;
        Change::new(trainer.org_id, "trainer.version_registered", "trainer_version", version.id)
            .by(viewer)
            .meta(json!({"trainer": trainer.name, "version": version.version, "image": version.image, "reference": version.reference}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(TrainerVersionView { trainer, version })
    }

    pub async fn trainers(
        &self,
        viewer: &Viewer,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Page<trainers::Model>> {
        viewer.require(org, Permission::ReadProjects)?;
        let query = trainers::Entity::find().filter(trainers::Column::OrgId.eq(org));
        let rows = page
            .apply(query, trainers::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn trainer(&self, viewer: &Viewer, id: TrainerId) -> Result<trainers::Model> {
        let trainer = find_scoped::<trainers::Entity>(
            &self.db,
            viewer,
            (trainers::Column::Id, id),
            trainers::Column::OrgId,
            "trainer",
        )
        .await?;
        viewer.require(trainer.org_id, Permission::ReadProjects)?;
        Ok(trainer)
    }

    /// Newest first.
    pub async fn trainer_versions(
        &self,
        viewer: &Viewer,
        trainer: TrainerId,
    ) -> Result<Vec<trainer_versions::Model>> {
        let trainer = self.trainer(viewer, trainer).await?;
        Ok(trainer_versions::Entity::find()
            .filter(trainer_versions::Column::TrainerId.eq(trainer.id))
            .order_by_desc(trainer_versions::Column::Version)
            .all(&self.db)
            .await?)
    }

    /// A version the viewer's organizations own, or a READY version of a trainer listed on
    /// the marketplace.
    pub async fn trainer_version(
        &self,
        viewer: &Viewer,
        id: TrainerVersionId,
    ) -> Result<trainer_versions::Model> {
        let own = find_scoped::<trainer_versions::Entity>(
            &self.db,
            viewer,
            (trainer_versions::Column::Id, id),
            trainer_versions::Column::OrgId,
            "trainer version",
        )
        .await;
        match own {
            Ok(version) => {
                viewer.require(version.org_id, Permission::ReadProjects)?;
                Ok(version)
            }
            // Another organization's version is visible while it is listed on the
            // marketplace (what other organizations' jobs may run).
            Err(Error::NotFound(_)) => self.catalog.shared_version(&self.db, id).await,
            Err(other) => Err(other),
        }
    }
}

/// Inserts a trainer named `name` (its slug derived from it) in the caller's transaction.
pub async fn insert_trainer(
    tx: &Tx,
    viewer: &Viewer,
    org_id: OrgId,
    name: String,
    description: String,
    task_types: TaskTypes,
    frameworks: Names,
) -> Result<trainers::Model> {
    let at = now();
    trainers::ActiveModel {
        id: Set(TrainerId::new()),
        org_id: Set(org_id),
        slug: Set(validate::slugify(&name)),
        name: Set(name),
        description: Set(description),
        task_types: Set(task_types),
        frameworks: Set(frameworks),
        created_by: Set(Some(viewer.user_id)),
        created_at: Set(at),
        updated_at: Set(at),
        published_version_id: Set(None),
        published_at: Set(None),
    }
    .insert(&**tx)
    .await
    .map_err(|e| {
        conflict_on_unique(
            e,
            "the organization has a trainer with this name (or slug) already",
        )
    })
}

/// The organization's trainer called `name` (by its slug), created with `task_types` and
/// `frameworks` on first use: how registrations and upload requests name their trainer.
pub async fn trainer_named(
    tx: &Tx,
    viewer: &Viewer,
    org_id: OrgId,
    name: String,
    task_types: TaskTypes,
    frameworks: Names,
) -> Result<trainers::Model> {
    let existing = trainers::Entity::find()
        .filter(trainers::Column::OrgId.eq(org_id))
        .filter(trainers::Column::Slug.eq(validate::slugify(&name)))
        .one(&**tx)
        .await?;
    match existing {
        Some(trainer) => Ok(trainer),
        None => {
            insert_trainer(
                tx,
                viewer,
                org_id,
                name,
                String::new(),
                task_types,
                frameworks,
            )
            .await
        }
    }
}

/// What sets a new version apart; [`insert_version`] numbers it and fills in the rest (a
/// fresh id, no checks or scan yet).
pub struct NewVersion {
    pub image: String,
    pub runtime: Runtime,
    pub reference: String,
    pub status: VersionStatus,
    pub framework: String,
    pub hyperparameters: HyperParameterSchema,
    pub task_types: TaskTypes,
    pub export_formats: Names,
    pub manifest_digest: Option<String>,
    pub created_by: Option<UserId>,
    pub at: Timestamp,
}

/// Inserts `new` as the trainer's next version in the caller's transaction: registered,
/// requested for upload or pushed. Two at once take the same number, and the unique key
/// refuses the second with `Conflict` and `race`, the message for its user.
pub async fn insert_version(
    tx: &Tx,
    trainer: &trainers::Model,
    new: NewVersion,
    race: &str,
) -> Result<trainer_versions::Model> {
    trainer_versions::ActiveModel {
        id: Set(TrainerVersionId::new()),
        org_id: Set(trainer.org_id),
        trainer_id: Set(trainer.id),
        version: Set(next_version_number(&**tx, trainer.id).await?),
        image: Set(new.image),
        runtime: Set(new.runtime),
        reference: Set(new.reference),
        status: Set(new.status),
        framework: Set(new.framework),
        hyperparameters: Set(new.hyperparameters),
        task_types: Set(new.task_types),
        export_formats: Set(new.export_formats),
        manifest_digest: Set(new.manifest_digest),
        checks: Set(Checks::default()),
        scan: Set(None),
        created_by: Set(new.created_by),
        created_at: Set(new.at),
        updated_at: Set(Some(new.at)),
    }
    .insert(&**tx)
    .await
    .map_err(|e| conflict_on_unique(e, race))
}

/// The number the trainer's next version gets.
async fn next_version_number(db: &impl ConnectionTrait, trainer: TrainerId) -> Result<i32> {
    let latest = trainer_versions::Entity::find()
        .filter(trainer_versions::Column::TrainerId.eq(trainer))
        .order_by_desc(trainer_versions::Column::Version)
        .one(db)
        .await?;
    Ok(latest.map_or(1, |v| v.version + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_formats_are_known_and_deduplicated() {
        let clean = check_export_formats(vec!["ONNX".into(), "onnx".into(), "tflite".into()])
            .expect("known formats");
        assert_eq!(clean, ["onnx", "tflite"]);
        assert!(check_export_formats(vec!["pickle".into()]).is_err());
    }
}
