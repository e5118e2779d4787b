//! Creating trainers. A trainer is also a registry repository, `<org-slug>/<trainer-slug>`,
//! that its organization's members push versions to.

use crate::Marketplace;
use crate::error::Result;
use keynet_domain::Error as DomainError;
use keynet_domain::audit::Change;
use keynet_domain::entities::datasets::TaskTypes;
use keynet_domain::entities::projects::TaskType;
use keynet_domain::entities::trainers::{self, Names};
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;
use keynet_domain::validate;
use keynet_domain::viewer::Viewer;
use serde_json::json;

pub struct NewTrainer {
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub task_types: Vec<TaskType>,
    pub frameworks: Vec<String>,
}

impl Marketplace {
    pub async fn create_trainer(
        &self,
        viewer: &Viewer,
        input: NewTrainer,
    ) -> Result<trainers::Model> {
        viewer.require(input.org_id, Permission::PushTrainers)?;
        let name = validate::name("name", &input.name, 100)?;
        let slug = validate::slugify(&name);
        if slug.is_empty() {
            return Err(DomainError::invalid("name", "needs at least one letter or digit").into());
        }
        let description = validate::text("description", &input.description, 4000)?;
        let mut task_types = input.task_types;
        task_types.dedup();
        if task_types.is_empty() {
            return Err(DomainError::invalid("taskTypes", "name at least one task type").into());
        }
        let mut frameworks = Vec::new();
        for framework in &input.frameworks {
            let framework = validate::name("frameworks", framework, 50)?.to_ascii_lowercase();
            if !frameworks.contains(&framework) {
                frameworks.push(framework);
            }
        }
        let mut tx = self.begin().await?;
        let trainer = keynet_domain::jobs::trainers::insert_trainer(
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
