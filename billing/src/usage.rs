//! `usage(orgId, from, to, groupBy)`: the ledger summed by the dimensions asked for, and the
//! current period's totals with a forecast.

use crate::error::Result;
use crate::meters::Meter;
use crate::periods::Period;
use chrono::{DateTime, Utc};
use keynet_domain::ids::{DeploymentId, ExperimentId, JobId, OrgId, ProjectId, TrainerVersionId};
use keynet_domain::time::now;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Month,
    Meter,
    Project,
    Experiment,
    Job,
    TrainerVersion,
    Deployment,
}

impl GroupBy {
    /// The grouping expression, by backend; days and months as `YYYY-MM-DD` / `YYYY-MM`
    /// in UTC.
    fn expression(self, backend: DbBackend) -> &'static str {
        match (self, backend) {
            (GroupBy::Day, DbBackend::Postgres) => {
                "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            }
            (GroupBy::Month, DbBackend::Postgres) => {
                "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM')"
            }
            (GroupBy::Day, _) => "strftime('%Y-%m-%d', occurred_at)",
            (GroupBy::Month, _) => "strftime('%Y-%m', occurred_at)",
            (GroupBy::Meter, _) => "meter",
            (GroupBy::Project, _) => "project_id",
            (GroupBy::Experiment, _) => "experiment_id",
            (GroupBy::Job, _) => "job_id",
            (GroupBy::TrainerVersion, _) => "trainer_version_id",
            (GroupBy::Deployment, _) => "deployment_id",
        }
    }

    fn alias(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Month => "month",
            GroupBy::Meter => "meter",
            GroupBy::Project => "project_id",
            GroupBy::Experiment => "experiment_id",
            GroupBy::Job => "job_id",
            GroupBy::TrainerVersion => "trainer_version_id",
            GroupBy::Deployment => "deployment_id",
        }
    }
}

/// One group: the dimensions asked for are set, the others are `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UsageGroup {
    pub day: Option<String>,
    pub month: Option<String>,
    pub meter: Option<Meter>,
    pub project_id: Option<ProjectId>,
    pub experiment_id: Option<ExperimentId>,
    pub job_id: Option<JobId>,
    pub trainer_version_id: Option<TrainerVersionId>,
    pub deployment_id: Option<DeploymentId>,
    /// Charged.
    pub quantity: i64,
    /// Metered but credited (not charged).
    pub credited_quantity: i64,
}

/// The most groups one answer holds; narrower dates or dimensions give the rest.
pub const MAX_GROUPS: u64 = 10_000;

pub(crate) async fn grouped(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: &[GroupBy],
) -> Result<Vec<UsageGroup>> {
    let backend = db.get_database_backend();
    let mut dimensions: Vec<GroupBy> = Vec::new();
    for group in group_by {
        if !dimensions.contains(group) {
            dimensions.push(*group);
        }
    }
    let columns: Vec<String> = dimensions
        .iter()
        .map(|g| format!("{} AS {}", g.expression(backend), g.alias()))
        .collect();
    let keys: Vec<&str> = dimensions.iter().map(|g| g.expression(backend)).collect();
    let (p1, p2, p3) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?1", "?2", "?3"),
    };
    let mut sql = String::from("SELECT ");
    for column in &columns {
        sql.push_str(column);
        sql.push_str(", ");
    }
    sql.push_str(
        "CAST(COALESCE(SUM(CASE WHEN credited THEN 0 ELSE quantity END), 0) AS BIGINT) AS quantity, \
         CAST(COALESCE(SUM(CASE WHEN credited THEN quantity ELSE 0 END), 0) AS BIGINT) AS credited_quantity \
         FROM usage_events ",
    );
    sql.push_str(&format!(
        "WHERE org_id = {p1} AND occurred_at >= {p2} AND occurred_at < {p3}"
    ));
    if !keys.is_empty() {
        let list = keys.join(", ");
        sql.push_str(&format!(" GROUP BY {list} ORDER BY {list}"));
    }
    sql.push_str(&format!(" LIMIT {MAX_GROUPS}"));
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            sql,
            [org.into(), from.into(), to.into()],
        ))
        .await?;
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let mut group = UsageGroup {
            quantity: row.try_get("", "quantity")?,
            credited_quantity: row.try_get("", "credited_quantity")?,
            ..UsageGroup::default()
        };
        for dimension in &dimensions {
            match dimension {
                GroupBy::Day => group.day = row.try_get("", "day")?,
                GroupBy::Month => group.month = row.try_get("", "month")?,
                GroupBy::Meter => group.meter = row.try_get("", "meter")?,
                GroupBy::Project => group.project_id = row.try_get("", "project_id")?,
                GroupBy::Experiment => group.experiment_id = row.try_get("", "experiment_id")?,
                GroupBy::Job => group.job_id = row.try_get("", "job_id")?,
                GroupBy::TrainerVersion => {
                    group.trainer_version_id = row.try_get("", "trainer_version_id")?
                }
                GroupBy::Deployment => group.deployment_id = row.try_get("", "deployment_id")?,
            }
        }
        groups.push(group);
    }
    Ok(groups)
}

/// One meter's totals in the current period.
#[derive(Clone, Debug, PartialEq)]
pub struct MeterTotal {
    pub meter: Meter,
    pub quantity: i64,
    pub credited_quantity: i64,
    /// The period's charged total if use goes on at the same rate.
    pub forecast: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PeriodUsage {
    pub period: Period,
    pub meters: Vec<MeterTotal>,
}

pub(crate) async fn current_period(db: &impl ConnectionTrait, org: OrgId) -> Result<PeriodUsage> {
    let at = now();
    let period = Period::containing(at);
    let by_meter = grouped(db, org, period.start, period.end, &[GroupBy::Meter]).await?;
    let meters = Meter::ALL
        .into_iter()
        .map(|meter| {
            let group = by_meter.iter().find(|g| g.meter == Some(meter));
            let quantity = group.map_or(0, |g| g.quantity);
            MeterTotal {
                meter,
                quantity,
                credited_quantity: group.map_or(0, |g| g.credited_quantity),
                forecast: period.forecast(quantity, at),
            }
        })
        .collect();
    Ok(PeriodUsage { period, meters })
}
