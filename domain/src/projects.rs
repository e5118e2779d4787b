//! Projects: the unit an organization trains models in. The task type is fixed at creation,
//! since datasets and trainers are chosen for it.

use crate::audit::Change;
use crate::domain::Domain;
use crate::entities::projects::{self, TaskType};
use crate::error::Result;
use crate::ids::{OrgId, ProjectId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, Set};
use serde_json::json;

const MAX_TITLE: usize = 200;
const MAX_SUMMARY: usize = 5000;

pub struct NewProject {
    pub org_id: OrgId,
    pub title: String,
    pub summary: String,
    pub task_type: TaskType,
}

impl Domain {
    pub async fn create_project(
        &self,
        viewer: &Viewer,
        input: NewProject,
    ) -> Result<projects::Model> {
        viewer.require(input.org_id, Permission::WriteProjects)?;
        let title = validate::name("title", &input.title, MAX_TITLE)?;
        let summary = validate::text("summary", &input.summary, MAX_SUMMARY)?;
        let mut tx = self.begin().await?;
        let at = now();
        let project = projects::ActiveModel {
            id: Set(ProjectId::new()),
            org_id: Set(input.org_id),
            title: Set(title),
            summary: Set(summary),
            task_type: Set(input.task_type),
            created_by: Set(Some(viewer.user_id)),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        Change::new(project.org_id, "project.created", "project", project.id)
            .by(viewer)
            .meta(json!({"title": project.title, "task_type": project.task_type}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(project)
    }

    pub async fn projects(
        &self,
        viewer: &Viewer,
        org: OrgId,
        include_archived: bool,
        page: PageRequest,
    ) -> Result<Page<projects::Model>> {
        viewer.require(org, Permission::ReadProjects)?;
        let mut query = projects::Entity::find().filter(projects::Column::OrgId.eq(org));
        if !include_archived {
            query = query.filter(projects::Column::ArchivedAt.is_null());
        }
        let rows = page
            .apply(query, projects::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn project(&self, viewer: &Viewer, id: ProjectId) -> Result<projects::Model> {
        let project = self.visible_project(viewer, id).await?;
        viewer.require(project.org_id, Permission::ReadProjects)?;
        Ok(project)
    }

    pub async fn update_project(
        &self,
        viewer: &Viewer,
        id: ProjectId,
        title: Option<&str>,
        summary: Option<&str>,
    ) -> Result<projects::Model> {
        let project = self.visible_project(viewer, id).await?;
        viewer.require(project.org_id, Permission::WriteProjects)?;
        let title = title
            .map(|t| validate::name("title", t, MAX_TITLE))
            .transpose()?;
        let summary = summary
            .map(|s| validate::text("summary", s, MAX_SUMMARY))
            .transpose()?;
        let mut tx = self.begin().await?;
        let mut changed: projects::ActiveModel = project.into();
        if let Some(title) = &title {
            changed.title = Set(title.clone());
        }
        if let Some(summary) = &summary {
            changed.summary = Set(summary.clone());
        }
        changed.updated_at = Set(now());
        let project = changed.update(&*tx).await?;
        Change::new(project.org_id, "project.updated", "project", id)
            .by(viewer)
            .meta(json!({"title": title, "summary_changed": summary.is_some()}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(project)
    }

    /// Archived projects drop out of lists and take no new work; nothing is deleted.
    pub async fn archive_project(&self, viewer: &Viewer, id: ProjectId) -> Result<projects::Model> {
        let project = self.visible_project(viewer, id).await?;
        viewer.require(project.org_id, Permission::ArchiveProjects)?;
        if project.archived_at.is_some() {
            return Ok(project);
        }
        let mut tx = self.begin().await?;
        let at = now();
        let mut archived: projects::ActiveModel = project.into();
        archived.archived_at = Set(Some(at));
        archived.updated_at = Set(at);
        let project = archived.update(&*tx).await?;
        Change::new(project.org_id, "project.archived", "project", id)
            .by(viewer)
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(project)
    }

    /// Projects across the viewer's organizations where they may push trainers.
    pub async fn trainable_projects(
        &self,
        viewer: &Viewer,
        page: PageRequest,
    ) -> Result<Page<projects::Model>> {
        let query = projects::Entity::find()
            .filter(projects::Column::OrgId.is_in(viewer.orgs_with(Permission::PushTrainers)))
            .filter(projects::Column::ArchivedAt.is_null());
        let rows = page
            .apply(query, projects::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    async fn visible_project(&self, viewer: &Viewer, id: ProjectId) -> Result<projects::Model> {
        find_scoped::<projects::Entity>(
            &self.db,
            viewer,
            (projects::Column::Id, id),
            projects::Column::OrgId,
            "project",
        )
        .await
    }
}
