//! Experiments group a project's runs for comparison; they carry tags, personal stars and
//! Markdown notes. Runs are attached by the jobs that train them.

use crate::audit::Change;
use crate::domain::Domain;
use crate::entities::experiment_notes;
use crate::entities::experiment_stars;
use crate::entities::experiments::{self, Tags};
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{ExperimentId, ExperimentNoteId, ExperimentStarId, OrgId, ProjectId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::search::{contains_text, json_array_has};
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashSet;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 5000;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 50;
const MAX_NOTE: usize = 20_000;

pub struct NewExperiment {
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Default)]
pub struct ExperimentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Default)]
pub struct ExperimentFilter {
    pub search: Option<String>,
    pub tag: Option<String>,
    pub starred: Option<bool>,
    pub include_archived: bool,
}

/// An experiment and whether the viewer starred it.
pub struct ExperimentView {
    pub experiment: experiments::Model,
    pub starred: bool,
}

/// Tags are short labels: letters, digits, spaces and `-_.:/`, trimmed, no duplicates.
fn check_tags(tags: Vec<String>) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut clean = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_string();
        let allowed = |c: char| c.is_alphanumeric() || " -_.:/".contains(c);
        if tag.is_empty() || tag.chars().count() > MAX_TAG || !tag.chars().all(allowed) {
            return Err(Error::invalid(
                "tags",
                format!("a tag has 1 to {MAX_TAG} letters, digits, spaces or -_.:/ (got {tag:?})"),
            ));
        }
        if seen.insert(tag.clone()) {
            clean.push(tag);
        }
    }
    if clean.len() > MAX_TAGS {
        return Err(Error::invalid("tags", format!("at most {MAX_TAGS} tags")));
    }
    Ok(clean)
}

impl Domain {
    pub async fn create_experiment(
        &self,
        viewer: &Viewer,
        input: NewExperiment,
    ) -> Result<experiments::Model> {
        let project = self.project(viewer, input.project_id).await?;
        viewer.require(project.org_id, Permission::WriteProjects)?;
        let name = validate::name("name", &input.name, MAX_NAME)?;
        let description = validate::text("description", &input.description, MAX_DESCRIPTION)?;
        let tags = check_tags(input.tags)?;
        let mut tx = self.begin().await?;
        let at = now();
        let experiment = experiments::ActiveModel {
            id: Set(ExperimentId::new()),
            org_id: Set(project.org_id),
            project_id: Set(project.id),
            name: Set(name),
            description: Set(description),
            tags: Set(Tags(tags)),
            created_by: Set(Some(viewer.user_id)),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        Change::new(
            experiment.org_id,
            "experiment.created",
            "experiment",
            experiment.id,
        )
        .by(viewer)
        .meta(json!({"name": experiment.name, "project_id": project.id}))
        .record(&mut tx)
        .await?;
        self.commit(tx).await?;
        Ok(experiment)
    }

    pub async fn experiments(
        &self,
        viewer: &Viewer,
        project: ProjectId,
        filter: ExperimentFilter,
        page: PageRequest,
    ) -> Result<Page<ExperimentView>> {
        let project = self.project(viewer, project).await?;
        let mut query =
            experiments::Entity::find().filter(experiments::Column::ProjectId.eq(project.id));
        if !filter.include_archived {
            query = query.filter(experiments::Column::ArchivedAt.is_null());
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            query = query.filter(
                Condition::any()
                    .add(contains_text(experiments::Column::Name, search))
                    .add(contains_text(experiments::Column::Description, search)),
            );
        }
        if let Some(tag) = filter.tag.as_deref() {
            query = query.filter(json_array_has(experiments::Column::Tags, tag.trim()));
        }
        if let Some(starred) = filter.starred {
            let mine = Query::select()
                .column(experiment_stars::Column::ExperimentId)
                .from(experiment_stars::Entity)
                .and_where(experiment_stars::Column::UserId.eq(viewer.user_id))
                .to_owned();
            query = query.filter(if starred {
                experiments::Column::Id.in_subquery(mine)
            } else {
                experiments::Column::Id.not_in_subquery(mine)
            });
        }
        let rows = page
            .apply(query, experiments::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        let page = page.finish(rows);
        let starred = self
            .starred_among(viewer, page.items.iter().map(|e| e.id))
            .await?;
        Ok(page.map(|experiment| ExperimentView {
            starred: starred.contains(&experiment.id),
            experiment,
        }))
    }

    pub async fn experiment(&self, viewer: &Viewer, id: ExperimentId) -> Result<ExperimentView> {
        let experiment = self.visible_experiment(viewer, id).await?;
        let starred = self.starred_among(viewer, [id]).await?.contains(&id);
        Ok(ExperimentView {
            experiment,
            starred,
        })
    }

    pub async fn update_experiment(
        &self,
        viewer: &Viewer,
        id: ExperimentId,
        changes: ExperimentChanges,
    ) -> Result<experiments::Model> {
        let experiment = self.visible_experiment(viewer, id).await?;
        viewer.require(experiment.org_id, Permission::WriteProjects)?;
        let name = changes
            .name
            .map(|n| validate::name("name", &n, MAX_NAME))
            .transpose()?;
        let description = changes
            .description
            .map(|d| validate::text("description", &d, MAX_DESCRIPTION))
            .transpose()?;
        let tags = changes.tags.map(check_tags).transpose()?;
        let mut tx = self.begin().await?;
        let mut changed: experiments::ActiveModel = experiment.into();
        if let Some(name) = name {
            changed.name = Set(name);
        }
        if let Some(description) = description {
            changed.description = Set(description);
        }
        if let Some(tags) = tags {
            changed.tags = Set(Tags(tags));
        }
        changed.updated_at = Set(now());
        let experiment = changed.update(&*tx).await?;
        Change::new(experiment.org_id, "experiment.updated", "experiment", id)
            .by(viewer)
            .meta(json!({"name": experiment.name, "tags": experiment.tags.0}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(experiment)
    }

    pub async fn archive_experiment(
        &self,
        viewer: &Viewer,
        id: ExperimentId,
    ) -> Result<experiments::Model> {
        let experiment = self.visible_experiment(viewer, id).await?;
        viewer.require(experiment.org_id, Permission::WriteProjects)?;
        if experiment.archived_at.is_some() {
            return Ok(experiment);
        }
        let mut tx = self.begin().await?;
        let at = now();
        let mut archived: experiments::ActiveModel = experiment.into();
        archived.archived_at = Set(Some(at));
        archived.updated_at = Set(at);
        let experiment = archived.update(&*tx).await?;
        Change::new(experiment.org_id, "experiment.archived", "experiment", id)
            .by(viewer)
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(experiment)
    }

    /// Stars are personal: starring twice is the same as once.
    pub async fn set_experiment_star(
        &self,
        viewer: &Viewer,
        id: ExperimentId,
        starred: bool,
    ) -> Result<ExperimentView> {
        let experiment = self.visible_experiment(viewer, id).await?;
        let mine = experiment_stars::Entity::find()
            .filter(experiment_stars::Column::ExperimentId.eq(id))
            .filter(experiment_stars::Column::UserId.eq(viewer.user_id));
        match (starred, mine.clone().one(&self.db).await?) {
            (true, None) => {
                let inserted = experiment_stars::ActiveModel {
                    id: Set(ExperimentStarId::new()),
                    org_id: Set(experiment.org_id),
                    experiment_id: Set(id),
                    user_id: Set(viewer.user_id),
                    created_at: Set(now()),
                }
                .insert(&self.db)
                .await;
                // A concurrent star of the same user is the same star.
                if let Err(e) = inserted {
                    match conflict_on_unique(e, "starred") {
                        Error::Conflict(_) => {}
                        other => return Err(other),
                    }
                }
            }
            (false, Some(star)) => {
                experiment_stars::Entity::delete_by_id(star.id)
                    .exec(&self.db)
                    .await?;
            }
            _ => {}
        }
        Ok(ExperimentView {
            experiment,
            starred,
        })
    }

    pub async fn add_experiment_note(
        &self,
        viewer: &Viewer,
        experiment: ExperimentId,
        body: &str,
    ) -> Result<experiment_notes::Model> {
        let experiment = self.visible_experiment(viewer, experiment).await?;
        viewer.require(experiment.org_id, Permission::WriteProjects)?;
        let body = note_body(body)?;
        let at = now();
        Ok(experiment_notes::ActiveModel {
            id: Set(ExperimentNoteId::new()),
            org_id: Set(experiment.org_id),
            experiment_id: Set(experiment.id),
            author_id: Set(Some(viewer.user_id)),
            body: Set(body),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&self.db)
        .await?)
    }

    /// Only the author edits a note.
    pub async fn edit_experiment_note(
        &self,
        viewer: &Viewer,
        id: ExperimentNoteId,
        body: &str,
    ) -> Result<experiment_notes::Model> {
        let note = self.own_note(viewer, id).await?;
        let body = note_body(body)?;
        let mut edited: experiment_notes::ActiveModel = note.into();
        edited.body = Set(body);
        edited.updated_at = Set(now());
        Ok(edited.update(&self.db).await?)
    }

    pub async fn delete_experiment_note(
        &self,
        viewer: &Viewer,
        id: ExperimentNoteId,
    ) -> Result<()> {
        let note = self.own_note(viewer, id).await?;
        experiment_notes::Entity::delete_by_id(note.id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The notes of the given experiments, limited to `orgs` (the viewer's), oldest first.
    pub async fn experiment_notes(
        &self,
        orgs: &[OrgId],
        experiments: &[ExperimentId],
    ) -> Result<Vec<experiment_notes::Model>> {
        Ok(experiment_notes::Entity::find()
            .filter(experiment_notes::Column::ExperimentId.is_in(experiments.iter().copied()))
            .filter(experiment_notes::Column::OrgId.is_in(orgs.iter().copied()))
            .order_by_asc(experiment_notes::Column::Id)
            .all(&self.db)
            .await?)
    }

    async fn visible_experiment(
        &self,
        viewer: &Viewer,
        id: ExperimentId,
    ) -> Result<experiments::Model> {
        let experiment = find_scoped::<experiments::Entity>(
            &self.db,
            viewer,
            (experiments::Column::Id, id),
            experiments::Column::OrgId,
            "experiment",
        )
        .await?;
        viewer.require(experiment.org_id, Permission::ReadProjects)?;
        Ok(experiment)
    }

    async fn own_note(
        &self,
        viewer: &Viewer,
        id: ExperimentNoteId,
    ) -> Result<experiment_notes::Model> {
        let note = find_scoped::<experiment_notes::Entity>(
            &self.db,
            viewer,
            (experiment_notes::Column::Id, id),
            experiment_notes::Column::OrgId,
            "note",
        )
        .await?;
        viewer.require(note.org_id, Permission::WriteProjects)?;
        if note.author_id != Some(viewer.user_id) {
            return Err(Error::forbidden("only the author may change a note"));
        }
        Ok(note)
    }

    async fn starred_among(
        &self,
        viewer: &Viewer,
        experiments: impl IntoIterator<Item = ExperimentId>,
    ) -> Result<HashSet<ExperimentId>> {
        Ok(experiment_stars::Entity::find()
            .select_only()
            .column(experiment_stars::Column::ExperimentId)
            .filter(experiment_stars::Column::UserId.eq(viewer.user_id))
            .filter(experiment_stars::Column::ExperimentId.is_in(experiments))
            .into_tuple::<ExperimentId>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
    }
}

fn note_body(body: &str) -> Result<String> {
    let body = validate::text("body", body, MAX_NOTE)?;
    if body.is_empty() {
        return Err(Error::invalid("body", "a note needs some text"));
    }
    Ok(body)
}
