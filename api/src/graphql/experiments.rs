//! Experiments and their notes.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::types::{Experiment, ExperimentNote};
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object};
use keynet_domain::experiments::{ExperimentChanges, ExperimentFilter, NewExperiment};
use keynet_domain::ids::{ExperimentId, ExperimentNoteId, ProjectId};

#[derive(InputObject)]
pub struct CreateExperimentInput {
    pub project_id: ID,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    #[graphql(default)]
    pub tags: Vec<String>,
}

#[derive(InputObject)]
pub struct UpdateExperimentInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Default)]
pub struct ExperimentQuery;

#[Object]
impl ExperimentQuery {
    /// `search` matches name and description; `tag` one exact tag; `starred` your stars.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    #[expect(clippy::too_many_arguments, reason = "one argument per GraphQL filter")]
    async fn experiments(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        search: Option<String>,
        tag: Option<String>,
        starred: Option<bool>,
        #[graphql(default)] include_archived: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Experiment>> {
        let project: ProjectId = parse_id(&project_id, "projectId")?;
        let filter = ExperimentFilter {
            search,
            tag,
            starred,
            include_archived,
        };
        let experiments = domain(ctx)
            .experiments(viewer(ctx)?, project, filter, page(first, after)?)
            .await?;
        Ok(connection(experiments, |e| e.experiment.id.0, Experiment))
    }

    async fn experiment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Experiment> {
        let id: ExperimentId = parse_id(&id, "id")?;
        Ok(Experiment(domain(ctx).experiment(viewer(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub struct ExperimentMutation;

#[Object]
impl ExperimentMutation {
    async fn create_experiment(
        &self,
        ctx: &Context<'_>,
        input: CreateExperimentInput,
    ) -> ApiResult<Experiment> {
        let project: ProjectId = parse_id(&input.project_id, "projectId")?;
        let experiment = domain(ctx)
            .create_experiment(
                viewer(ctx)?,
                NewExperiment {
                    project_id: project,
                    name: input.name,
                    description: input.description,
                    tags: input.tags,
                },
            )
            .await?;
        let id = experiment.id;
        Ok(Experiment(domain(ctx).experiment(viewer(ctx)?, id).await?))
    }

    async fn update_experiment(
        &self,
        ctx: &Context<'_>,
        input: UpdateExperimentInput,
    ) -> ApiResult<Experiment> {
        let id: ExperimentId = parse_id(&input.id, "id")?;
        let changes = ExperimentChanges {
            name: input.name,
            description: input.description,
            tags: input.tags,
        };
        domain(ctx)
            .update_experiment(viewer(ctx)?, id, changes)
            .await?;
        Ok(Experiment(domain(ctx).experiment(viewer(ctx)?, id).await?))
    }

    async fn archive_experiment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Experiment> {
        let id: ExperimentId = parse_id(&id, "id")?;
        domain(ctx).archive_experiment(viewer(ctx)?, id).await?;
        Ok(Experiment(domain(ctx).experiment(viewer(ctx)?, id).await?))
    }

    async fn star_experiment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Experiment> {
        let id: ExperimentId = parse_id(&id, "id")?;
        let starred = domain(ctx)
            .set_experiment_star(viewer(ctx)?, id, true)
            .await?;
        Ok(Experiment(starred))
    }

    async fn unstar_experiment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Experiment> {
        let id: ExperimentId = parse_id(&id, "id")?;
        let unstarred = domain(ctx)
            .set_experiment_star(viewer(ctx)?, id, false)
            .await?;
        Ok(Experiment(unstarred))
    }

    /// `body` is Markdown.
    async fn add_experiment_note(
        &self,
        ctx: &Context<'_>,
        experiment_id: ID,
        body: String,
    ) -> ApiResult<ExperimentNote> {
        let id: ExperimentId = parse_id(&experiment_id, "experimentId")?;
        let note = domain(ctx)
            .add_experiment_note(viewer(ctx)?, id, &body)
            .await?;
        Ok(ExperimentNote(note))
    }

    async fn edit_experiment_note(
        &self,
        ctx: &Context<'_>,
        note_id: ID,
        body: String,
    ) -> ApiResult<ExperimentNote> {
        let id: ExperimentNoteId = parse_id(&note_id, "noteId")?;
        let note = domain(ctx)
            .edit_experiment_note(viewer(ctx)?, id, &body)
            .await?;
        Ok(ExperimentNote(note))
    }

    async fn delete_experiment_note(&self, ctx: &Context<'_>, note_id: ID) -> ApiResult<bool> {
        let id: ExperimentNoteId = parse_id(&note_id, "noteId")?;
        domain(ctx).delete_experiment_note(viewer(ctx)?, id).await?;
        Ok(true)
    }
}
