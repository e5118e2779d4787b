//! What a job recorded, for the API. Functions that take a `jobs::Model` trust that it was
//! loaded through [`Domain::job`] or [`Domain::jobs`], which checked the viewer.

use crate::domain::Domain;
use crate::entities::job_artifacts::{self, ArtifactKind};
use crate::entities::job_logs::{self, LogLevel};
use crate::entities::jobs::{self, JobKind, JobStatus};
use crate::entities::{inference_results, job_events, job_metrics};
use crate::error::{Error, Result};
use crate::ids::{ExperimentId, ProjectId};
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;
use crate::viewer::Viewer;
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct JobFilter {
    pub experiment_id: Option<ExperimentId>,
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
}

#[derive(Default)]
pub struct LogFilter {
    /// This level and more severe ones.
    pub min_level: Option<LogLevel>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub epoch: i32,
    pub step: Option<i64>,
    pub value: f64,
    pub ts: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricSeries {
    pub name: String,
    pub points: Vec<MetricPoint>,
}

/// Events returned by one `job.events` call at most.
const MAX_EVENTS: u64 = 1000;

impl Domain {
    /// Newest first.
    pub async fn jobs(
        &self,
        viewer: &Viewer,
        project: ProjectId,
        filter: JobFilter,
        page: PageRequest,
    ) -> Result<Page<jobs::Model>> {
        let project = self.project(viewer, project).await?;
        let mut query = jobs::Entity::find().filter(jobs::Column::ProjectId.eq(project.id));
        if let Some(experiment) = filter.experiment_id {
            query = query.filter(jobs::Column::ExperimentId.eq(experiment));
        }
        if let Some(status) = filter.status {
            query = query.filter(jobs::Column::Status.eq(status));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(jobs::Column::Kind.eq(kind));
        }
        let rows = page
            .apply(query, jobs::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// The runs attached to an experiment, newest first.
    pub async fn experiment_runs(
        &self,
        viewer: &Viewer,
        experiment: ExperimentId,
        page: PageRequest,
    ) -> Result<Page<jobs::Model>> {
        let experiment = self.experiment(viewer, experiment).await?.experiment;
        let query = jobs::Entity::find().filter(jobs::Column::ExperimentId.eq(experiment.id));
        let rows = page
            .apply(query, jobs::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// The metric series of the job's current attempt, by name; all when `names` is `None`.
    pub async fn job_metrics(
        &self,
        job: &jobs::Model,
        names: Option<&[String]>,
    ) -> Result<Vec<MetricSeries>> {
        let mut query = job_metrics::Entity::find()
            .filter(job_metrics::Column::JobId.eq(job.id))
            .filter(job_metrics::Column::Attempt.eq(job.attempt));
        if let Some(names) = names {
            query = query.filter(job_metrics::Column::Name.is_in(names.iter().cloned()));
        }
        let rows = query
            .order_by_asc(job_metrics::Column::Name)
            .order_by_asc(job_metrics::Column::Epoch)
            .order_by_asc(job_metrics::Column::Id)
            .all(&self.db)
            .await?;
        let mut series: BTreeMap<String, Vec<MetricPoint>> = BTreeMap::new();
        for row in rows {
            series.entry(row.name).or_default().push(MetricPoint {
                epoch: row.epoch,
                step: row.step,
                value: row.value,
                ts: row.ts,
            });
        }
        Ok(series
            .into_iter()
            .map(|(name, points)| MetricSeries { name, points })
            .collect())
    }

    /// Oldest first, like a terminal.
    pub async fn job_logs(
        &self,
        job: &jobs::Model,
        filter: LogFilter,
        page: PageRequest,
    ) -> Result<Page<job_logs::Model>> {
        let mut query = job_logs::Entity::find().filter(job_logs::Column::JobId.eq(job.id));
        if let Some(level) = filter.min_level {
            query = query.filter(job_logs::Column::Level.is_in(level.and_above()));
        }
        if let Some(since) = filter.since {
            query = query.filter(job_logs::Column::Ts.gte(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(job_logs::Column::Ts.lt(until));
        }
        let rows = page
            .apply(query, job_logs::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// Stored events with `seq` above `after`, in order (at most 1,000 per call).
    pub async fn job_events(
        &self,
        job: &jobs::Model,
        after: i64,
        limit: Option<u64>,
    ) -> Result<Vec<job_events::Model>> {
        Ok(job_events::Entity::find()
            .filter(job_events::Column::JobId.eq(job.id))
            .filter(job_events::Column::Seq.gt(after))
            .order_by_asc(job_events::Column::Seq)
            .limit(limit.unwrap_or(MAX_EVENTS).min(MAX_EVENTS))
            .all(&self.db)
            .await?)
    }

    pub async fn job_artifacts(&self, job: &jobs::Model) -> Result<Vec<job_artifacts::Model>> {
        Ok(job_artifacts::Entity::find()
            .filter(job_artifacts::Column::JobId.eq(job.id))
            .order_by_asc(job_artifacts::Column::Kind)
            .all(&self.db)
            .await?)
    }

    /// A link anyone may use for `signed_url_ttl` to download the artifact.
    pub async fn artifact_download_url(&self, artifact: &job_artifacts::Model) -> Result<String> {
        let extension = match (artifact.kind, artifact.format.as_deref()) {
            (ArtifactKind::Export, Some(format)) => format,
            (ArtifactKind::Predictions, _) => "json",
            _ => "ckpt",
        };
        let name = format!(
            "{}-{}.{extension}",
            artifact.job_id,
            artifact_name(artifact.kind)
        );
        self.blobs
            .download_url(&artifact.blob_key, self.config.signed_url_ttl, Some(&name))
            .await
            .map_err(Error::storage)
    }

    pub async fn inference_results(
        &self,
        job: &jobs::Model,
        page: PageRequest,
    ) -> Result<Page<inference_results::Model>> {
        let query =
            inference_results::Entity::find().filter(inference_results::Column::JobId.eq(job.id));
        let rows = page
            .apply(query, inference_results::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }
}

pub fn artifact_name(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::BestCheckpoint => "best",
        ArtifactKind::LastCheckpoint => "last",
        ArtifactKind::Predictions => "predictions",
        ArtifactKind::Export => "export",
    }
}
