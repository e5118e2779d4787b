//! A deployment's metrics over time. API instances write what they answered (requests,
//! errors by class, latency by bucket) and hosts what their replicas did (batches by size,
//! queue depth, replicas), one row per writer and interval; `deployment.metrics(from, to,
//! step)` sums the rows into steps. Latency percentiles come from the buckets (the bucket's
//! upper bound: at most one bucket off).

use crate::domain::Domain;
use crate::entities::deployment_metrics::{self, Counts, SampleSource};
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, OrgId};
use crate::time::{Timestamp, now};
use crate::viewer::Viewer;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Upper bounds of the latency buckets, in milliseconds (the last one is open).
pub const LATENCY_BOUNDS_MS: [u64; 14] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 60_000,
];
/// Points one answer holds at most.
pub const MAX_POINTS: i64 = 1_000;

/// What one writer saw of one deployment since its last write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Window {
    pub requests: i64,
    pub errors: BTreeMap<String, i64>,
    pub latency: BTreeMap<String, i64>,
    pub batches: BTreeMap<String, i64>,
    pub queue_depth: i32,
    pub replicas: i32,
}

impl Window {
    /// One request answered (`outcome` "ok") or refused (the error's class) after `elapsed`.
    pub fn request(&mut self, outcome: &str, elapsed: std::time::Duration) {
        self.requests += 1;
        if outcome != "ok" {
            *self.errors.entry(outcome.to_string()).or_default() += 1;
        }
        let ms = elapsed.as_millis() as u64;
        let bound = LATENCY_BOUNDS_MS
            .iter()
            .find(|bound| ms < **bound)
            .map_or("inf".to_string(), u64::to_string);
        *self.latency.entry(bound).or_default() += 1;
    }
}

/// One step of `deployment.metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsPoint {
    pub at: Timestamp,
    pub requests: i64,
    pub errors: BTreeMap<String, i64>,
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    pub latency_ms_p99: Option<f64>,
    pub batches: BTreeMap<String, i64>,
    pub queue_depth: i32,
    pub replicas: i32,
}

impl MetricsPoint {
    /// A step in which nothing was recorded.
    pub fn empty(at: Timestamp) -> Self {
        Self {
            at,
            requests: 0,
            errors: BTreeMap::new(),
            latency_ms_p50: None,
            latency_ms_p95: None,
            latency_ms_p99: None,
            batches: BTreeMap::new(),
            queue_depth: 0,
            replicas: 0,
        }
    }
}

fn add(into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>) {
    for (name, count) in from {
        *into.entry(name.clone()).or_default() += count;
    }
}

/// The latency at quantile `q` from bucket counts: the upper bound of the bucket it falls in.
fn quantile(latency: &BTreeMap<String, i64>, q: f64) -> Option<f64> {
    let total: i64 = latency.values().sum();
    if total == 0 {
        return None;
    }
    let mut bounds: Vec<(f64, i64)> = latency
        .iter()
        .map(|(bound, count)| (bound.parse::<f64>().unwrap_or(f64::INFINITY), *count))
        .collect();
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let wanted = (q * total as f64).ceil() as i64;
    let mut seen = 0;
    for (bound, count) in bounds {
        seen += count;
        if seen >= wanted {
            return Some(bound);
        }
    }
    None
}

impl Domain {
    /// Stores what `source` saw of each deployment in `windows` (deployments deleted
    /// meanwhile are skipped).
    pub async fn record_deployment_windows(
        &self,
        source: SampleSource,
        writer: Uuid,
        windows: Vec<((OrgId, DeploymentId), Window)>,
    ) -> Result<()> {
        let at = now();
        for ((org, deployment), window) in windows {
            let row = deployment_metrics::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(org),
                deployment_id: Set(deployment),
                at: Set(at),
                source: Set(source),
                writer: Set(writer),
                requests: Set(window.requests),
                errors: Set(Counts(window.errors)),
                latency: Set(Counts(window.latency)),
                batches: Set(Counts(window.batches)),
                queue_depth: Set(window.queue_depth),
                replicas: Set(window.replicas),
            };
            if let Err(error) = deployment_metrics::Entity::insert(row).exec(&self.db).await {
                match error.sql_err() {
                    Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {}
                    _ => return Err(error.into()),
                }
            }
        }
        Ok(())
    }

    /// The deployment's metrics in `[from, to)`, one point per `step` (points without data
    /// are left out).
    pub async fn deployment_metrics(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Vec<MetricsPoint>> {
        let deployment = self.deployment(viewer, id).await?;
        if step < Duration::seconds(1) {
            return Err(Error::invalid("step", "must be at least 1 second"));
        }
        if to <= from {
            return Err(Error::invalid("to", "must be after from"));
        }
        if (to - from).num_seconds() / step.num_seconds() > MAX_POINTS {
            return Err(Error::invalid(
                "step",
                format!("gives more than {MAX_POINTS} points over this range; take a larger step"),
            ));
        }
        let rows = deployment_metrics::Entity::find()
            .filter(deployment_metrics::Column::DeploymentId.eq(deployment.id))
            .filter(deployment_metrics::Column::At.gte(from))
            .filter(deployment_metrics::Column::At.lt(to))
            .order_by_asc(deployment_metrics::Column::At)
            .all(&self.db)
            .await?;
        let mut steps: BTreeMap<i64, (Window, BTreeMap<Uuid, i32>)> = BTreeMap::new();
        for row in rows {
            let index = (row.at - from).num_seconds() / step.num_seconds();
            let (window, replicas) = steps.entry(index).or_default();
            window.requests += row.requests;
            add(&mut window.errors, &row.errors.0);
            add(&mut window.latency, &row.latency.0);
            add(&mut window.batches, &row.batches.0);
            window.queue_depth = window.queue_depth.max(row.queue_depth);
            if row.source == SampleSource::Host {
                // Each host's most replicas in the step, summed over hosts below.
                let host = replicas.entry(row.writer).or_default();
                *host = (*host).max(row.replicas);
            }
        }
        Ok(steps
            .into_iter()
            .map(|(index, (window, replicas))| MetricsPoint {
                at: from + step * i32::try_from(index).unwrap_or(i32::MAX),
                requests: window.requests,
                latency_ms_p50: quantile(&window.latency, 0.50),
                latency_ms_p95: quantile(&window.latency, 0.95),
                latency_ms_p99: quantile(&window.latency, 0.99),
                errors: window.errors,
                batches: window.batches,
                queue_depth: window.queue_depth,
                replicas: replicas.values().sum(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_buckets() {
        let mut window = Window::default();
        // 18 fast answers, one refusal after 3 ms, one slow answer: 20 requests.
        for _ in 0..18 {
            window.request("ok", std::time::Duration::from_micros(300));
        }
        window.request("bad_input", std::time::Duration::from_millis(3));
        window.request("ok", std::time::Duration::from_millis(700));
        assert_eq!(window.requests, 20);
        assert_eq!(window.errors.get("bad_input"), Some(&1));
        assert_eq!(quantile(&window.latency, 0.5), Some(1.0));
        assert_eq!(quantile(&window.latency, 0.95), Some(5.0));
        assert_eq!(quantile(&window.latency, 0.99), Some(1_000.0));
        assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    }
}
