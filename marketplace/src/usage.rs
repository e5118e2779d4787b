//! What other organizations' use of a trainer amounts to, shown to its authors: the jobs
//! (runs) that used it, the organizations that ran them, and the GPU time they took, in
//! total and per version. The author's own jobs are not counted.

use crate::Marketplace;
use crate::error::Result;
use futures_util::TryStreamExt as _;
use keynet_domain::entities::jobs::{self, Resources};
use keynet_domain::entities::trainer_versions;
use keynet_domain::ids::{OrgId, TrainerId, TrainerVersionId};
use keynet_domain::viewer::Viewer;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UsageFigures {
    /// Jobs of any kind and status.
    pub runs: i64,
    pub organizations: i64,
    /// GPUs × (finished − started) of the jobs that ran to an end.
    pub gpu_seconds: f64,
}

pub struct VersionUsage {
    pub version_id: TrainerVersionId,
    pub version: i32,
    pub figures: UsageFigures,
}

pub struct TrainerUsage {
    pub total: UsageFigures,
    /// Every version, newest first.
    pub versions: Vec<VersionUsage>,
}

/// Figures being summed up; an organization counts once however many jobs it ran.
#[derive(Default)]
struct Tally {
    runs: i64,
    organizations: HashSet<OrgId>,
    gpu_seconds: f64,
}

impl Tally {
    fn add(&mut self, org: OrgId, gpu_seconds: f64) {
        self.runs += 1;
        self.organizations.insert(org);
        self.gpu_seconds += gpu_seconds;
    }

    fn figures(&self) -> UsageFigures {
        UsageFigures {
            runs: self.runs,
            organizations: self.organizations.len() as i64,
            gpu_seconds: self.gpu_seconds,
        }
    }
}

type Run = (
    TrainerVersionId,
    OrgId,
    Resources,
    Option<DateTimeUtc>,
    Option<DateTimeUtc>,
);

impl Marketplace {
    /// Members of the trainer's organization (anyone else: not found).
    pub async fn trainer_usage(&self, viewer: &Viewer, trainer: TrainerId) -> Result<TrainerUsage> {
        let trainer = self.domain.trainer(viewer, trainer).await?;
        let versions: Vec<(TrainerVersionId, i32)> = trainer_versions::Entity::find()
            .select_only()
            .columns([
                trainer_versions::Column::Id,
                trainer_versions::Column::Version,
            ])
            .filter(trainer_versions::Column::TrainerId.eq(trainer.id))
            .order_by_desc(trainer_versions::Column::Version)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut total = Tally::default();
        let mut by_version: HashMap<TrainerVersionId, Tally> = HashMap::new();
        // Streamed: a popular trainer has many runs, and only the sums are kept.
        let mut runs = jobs::Entity::find()
            .select_only()
            .columns([
                jobs::Column::TrainerVersionId,
                jobs::Column::OrgId,
                jobs::Column::Resources,
                jobs::Column::StartedAt,
                jobs::Column::FinishedAt,
            ])
            .filter(jobs::Column::TrainerVersionId.is_in(versions.iter().map(|(id, _)| *id)))
            .filter(jobs::Column::OrgId.ne(trainer.org_id))
            .into_tuple::<Run>()
            .stream(&self.db)
            .await?;
        while let Some((version, org, resources, started, finished)) = runs.try_next().await? {
            let seconds = gpu_seconds(&resources, started, finished);
            total.add(org, seconds);
            by_version.entry(version).or_default().add(org, seconds);
        }
        Ok(TrainerUsage {
            total: total.figures(),
            versions: versions
                .into_iter()
                .map(|(version_id, version)| VersionUsage {
                    version_id,
                    version,
                    figures: by_version
                        .get(&version_id)
                        .map(Tally::figures)
                        .unwrap_or_default(),
                })
                .collect(),
        })
    }
}

/// GPUs × wall time of a job that started and finished; nothing for one that never started
/// or still runs.
fn gpu_seconds(
    resources: &Resources,
    started: Option<DateTimeUtc>,
    finished: Option<DateTimeUtc>,
) -> f64 {
    match (started, finished) {
        (Some(started), Some(finished)) if finished > started => {
            f64::from(resources.gpus.max(0)) * (finished - started).num_milliseconds() as f64
                / 1000.0
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn gpu_seconds_count_only_finished_runs() {
        let resources = Resources {
            gpus: 2,
            cpus: 1.0,
            memory_mb: 512,
        };
        let start = Utc::now();
        let end = start + Duration::milliseconds(1500);
        assert_eq!(gpu_seconds(&resources, Some(start), Some(end)), 3.0);
        assert_eq!(gpu_seconds(&resources, Some(start), None), 0.0);
        assert_eq!(gpu_seconds(&resources, None, None), 0.0);
    }

    #[test]
    fn an_organization_counts_once() {
        let (a, b) = (OrgId::new(), OrgId::new());
        let mut tally = Tally::default();
        tally.add(a, 1.0);
        tally.add(a, 2.0);
        tally.add(b, 0.5);
        assert_eq!(
            tally.figures(),
            UsageFigures {
                runs: 3,
                organizations: 2,
                gpu_seconds: 3.5
            }
        );
    }
}
