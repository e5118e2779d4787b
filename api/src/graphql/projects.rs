//! Projects.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::enums::TaskType;
use super::types::Project;
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object};
use keynet_domain::ids::{OrgId, ProjectId};
use keynet_domain::projects::NewProject;

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub org_id: ID,
    pub title: String,
    #[graphql(default)]
    pub summary: String,
    pub task_type: TaskType,
}

#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub id: ID,
    pub title: Option<String>,
    pub summary: Option<String>,
}

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] include_archived: bool,
    ) -> ApiResult<Conn<Project>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let projects = domain(ctx)
            .projects(viewer(ctx)?, org, include_archived, page(first, after)?)
            .await?;
        Ok(connection(projects, |p| p.id.0, Project))
    }

    async fn project(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Project> {
        let id: ProjectId = parse_id(&id, "id")?;
        Ok(Project(domain(ctx).project(viewer(ctx)?, id).await?))
    }

    /// Projects in all your organizations where you may push trainers (member or above).
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn trainable_projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Project>> {
        let projects = domain(ctx)
            .trainable_projects(viewer(ctx)?, page(first, after)?)
            .await?;
        Ok(connection(projects, |p| p.id.0, Project))
    }
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> ApiResult<Project> {
        let org: OrgId = parse_id(&input.org_id, "orgId")?;
        let project = domain(ctx)
            .create_project(
                viewer(ctx)?,
                NewProject {
                    org_id: org,
                    title: input.title,
                    summary: input.summary,
                    task_type: input.task_type.into(),
                },
            )
            .await?;
        Ok(Project(project))
    }

    async fn update_project(
        &self,
        ctx: &Context<'_>,
        input: UpdateProjectInput,
    ) -> ApiResult<Project> {
        let id: ProjectId = parse_id(&input.id, "id")?;
        let project = domain(ctx)
            .update_project(
                viewer(ctx)?,
                id,
                input.title.as_deref(),
                input.summary.as_deref(),
            )
            .await?;
        Ok(Project(project))
    }

    async fn archive_project(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Project> {
        let id: ProjectId = parse_id(&id, "id")?;
        Ok(Project(
            domain(ctx).archive_project(viewer(ctx)?, id).await?,
        ))
    }
}
