//! `usageThresholdReached`: an organization's GPU-seconds of the month reaching 80 % and
//! 100 % of its plan's quota, announced once per period and threshold (the table's key
//! keeps a second worker from announcing it again).

use crate::entities::usage_thresholds;
use crate::error::Result;
use crate::meters::Meter;
use crate::periods::Period;
use crate::totals;
use keynet_domain::events::{Event, UsageThreshold, org_usage_topic};
use keynet_domain::ids::OrgId;
use keynet_domain::time::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

pub const PERCENTS: [i32; 2] = [80, 100];
pub const GPU_QUOTA: &str = "gpu_seconds_per_month";

/// The thresholds newly reached, as events to publish after the commit.
pub async fn reached(
    db: &impl ConnectionTrait,
    org: OrgId,
    limit: Option<i64>,
) -> Result<Vec<(String, Event)>> {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return Ok(Vec::new());
    };
    let period = Period::containing(now());
    let used = totals::billable(db, org, Meter::GpuSeconds, period.start, period.end).await?;
    let mut events = Vec::new();
    for percent in PERCENTS {
        if i128::from(used) * 100 < i128::from(limit) * i128::from(percent) {
            continue;
        }
        let inserted = usage_thresholds::Entity::insert(usage_thresholds::ActiveModel {
            org_id: Set(org),
            period_start: Set(period.start),
            quota: Set(GPU_QUOTA.to_string()),
            percent: Set(percent),
            created_at: Set(now()),
        })
        .on_conflict(
            OnConflict::columns([
                usage_thresholds::Column::OrgId,
                usage_thresholds::Column::PeriodStart,
                usage_thresholds::Column::Quota,
                usage_thresholds::Column::Percent,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            events.push((
                org_usage_topic(org),
                Event::UsageThresholdReached(UsageThreshold {
                    org_id: org,
                    quota: GPU_QUOTA.to_string(),
                    percent,
                    used,
                    limit,
                    period_start: period.start,
                }),
            ));
        }
    }
    Ok(events)
}
