//! `compareRuns`: the chosen metrics of several runs aligned by epoch, with each run's
//! configuration and hyperparameters, so a frontend can plot and diff them.

use super::queries::MetricSeries;
use crate::domain::Domain;
use crate::entities::jobs;
use crate::error::{Error, Result};
use crate::ids::JobId;
use crate::viewer::Viewer;
use std::collections::BTreeSet;

const MAX_RUNS: usize = 20;
const MAX_METRICS: usize = 20;

pub struct RunComparison {
    /// Every epoch any of the runs reported, ascending: the shared x axis.
    pub epochs: Vec<i32>,
    pub runs: Vec<ComparedRun>,
}

pub struct ComparedRun {
    pub job: jobs::Model,
    pub metrics: Vec<AlignedSeries>,
}

/// One value per entry of `RunComparison::epochs`; `None` where the run has no value.
pub struct AlignedSeries {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

impl Domain {
    pub async fn compare_runs(
        &self,
        viewer: &Viewer,
        job_ids: &[JobId],
        metrics: &[String],
    ) -> Result<RunComparison> {
        if job_ids.is_empty() || job_ids.len() > MAX_RUNS {
            return Err(Error::invalid(
                "jobIds",
                format!("compare 1 to {MAX_RUNS} runs"),
            ));
        }
        if metrics.is_empty() || metrics.len() > MAX_METRICS {
            return Err(Error::invalid(
                "metrics",
                format!("name 1 to {MAX_METRICS} metrics"),
            ));
        }
        let mut loaded = Vec::with_capacity(job_ids.len());
        for id in job_ids {
            let job = self.job(viewer, *id).await?;
            let series = self.job_metrics(&job, Some(metrics)).await?;
            loaded.push((job, series));
        }
        let epochs: Vec<i32> = loaded
            .iter()
            .flat_map(|(_, series)| series.iter().flat_map(|s| s.points.iter().map(|p| p.epoch)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let runs = loaded
            .into_iter()
            .map(|(job, series)| ComparedRun {
                metrics: align(&epochs, metrics, &series),
                job,
            })
            .collect();
        Ok(RunComparison { epochs, runs })
    }
}

/// Each requested metric on the shared epochs; the last value reported for an epoch wins
/// (a trainer may report several steps per epoch).
fn align(epochs: &[i32], names: &[String], series: &[MetricSeries]) -> Vec<AlignedSeries> {
    names
        .iter()
        .map(|name| {
            let points = series
                .iter()
                .find(|s| &s.name == name)
                .map(|s| s.points.as_slice())
                .unwrap_or_default();
            let values = epochs
                .iter()
                .map(|epoch| {
                    points
                        .iter()
                        .rev()
                        .find(|p| p.epoch == *epoch)
                        .map(|p| p.value)
                })
                .collect();
            AlignedSeries {
                name: name.clone(),
                values,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::queries::MetricPoint;
    use crate::time::now;

    #[test]
    fn series_are_aligned_on_shared_epochs() {
        let point = |epoch, value| MetricPoint {
            epoch,
            step: None,
            value,
            ts: now(),
        };
        let series = vec![MetricSeries {
            name: "loss".into(),
            points: vec![point(1, 0.9), point(1, 0.8), point(3, 0.5)],
        }];
        let aligned = align(&[1, 2, 3], &["loss".into(), "accuracy".into()], &series);
        assert_eq!(aligned[0].values, [Some(0.8), None, Some(0.5)]);
        assert_eq!(aligned[1].values, [None, None, None]);
    }
}
