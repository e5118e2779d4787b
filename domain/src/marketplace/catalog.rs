//! Creating trainers. A trainer is also a registry repository, `<org-slug>/<trainer-slug>`,
//! that its organization's members push versions to.

use crate::audit::Change;
use crate::domain::Domain;
use crate::domain::Tx;
use crate::entities::datasets::TaskTypes;
use crate::entities::projects::TaskType;
use crate::entities::trainer_versions;
use crate::entities::trainers::{self, Names};
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{OrgId, TrainerId};
use crate::roles::Permission;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

pub struct NewTrainer {
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub task_types: Vec<TaskType>,
    pub frameworks: Vec<String>,
}

impl Domain {
    pub async fn create_trainer(
        &self,
        viewer: &Viewer,
        input: NewTrainer,
    ) -> Result<trainers::Model> {
        viewer.require(input.org_id, Permission::PushTrainers)?;
        let name = validate::name("name", &input.name, 100)?;
        let slug = validate::slugify(&name);
        if slug.is_empty() {
            return Err(Error::invalid("name", "needs at least one letter or digit"));
        }
        let description = validate::text("description", &input.description, 4000)?;
        let mut task_types = input.task_types;
        task_types.dedup();
        if task_types.is_empty() {
            return Err(Error::invalid("taskTypes", "name at least one task type"));
        }
        let mut frameworks = Vec::new();
        for framework in &input.frameworks {
            let framework = validate::name("frameworks", framework, 50)?.to_ascii_lowercase();
            if !frameworks.contains(&framework) {
                frameworks.push(framework);
            }
        }
        let mut tx = self.begin().await?;
        let trainer = insert_trainer(
            &tx,
            viewer,
            input.org_id,
            name,
            description,
            TaskTypes(task_types),
            Names(frameworks),
        )
        .await?;
        Change::new(trainer.org_id, "trainer.created", "trainer", trainer.id)
            .by(viewer)
            .meta(json!({"name": trainer.name, "slug": trainer.slug}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(trainer)
    }
}

/// Inserts a trainer named `name` (its slug derived from it) in the caller's transaction.
pub(crate) async fn insert_trainer(
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
pub(crate) async fn trainer_named(
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

/// The number the trainer's next version gets.
pub(crate) async fn next_version_number(
    db: &impl ConnectionTrait,
    trainer: TrainerId,
) -> Result<i32> {
    let latest = trainer_versions::Entity::find()
        .filter(trainer_versions::Column::TrainerId.eq(trainer))
        .order_by_desc(trainer_versions::Column::Version)
        .one(db)
        .await?;
    Ok(latest.map_or(1, |v| v.version + 1))
}
