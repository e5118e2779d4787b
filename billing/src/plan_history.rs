//! Which plan an organization was charged when: one row per change of the charged plan
//! (`changePlan`, a Stripe subscription webhook, the account's creation), so a period is
//! invoiced with the plan(s) in force during it, and only from when the organization
//! existed.

use crate::entities::billing_accounts::{self, AccountStatus};
use crate::entities::billing_plan_changes;
use crate::error::Result;
use crate::periods::Period;
use crate::plans::PlanName;
use chrono::{DateTime, Utc};
use keynet_domain::ids::OrgId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// The plan an account is charged (and whose limits apply): a canceled subscription falls
/// back to the free plan.
pub fn charged_plan(plan: PlanName, status: AccountStatus) -> PlanName {
    match status {
        AccountStatus::Canceled => PlanName::Free,
        _ => plan,
    }
}

/// Records that `org` is charged `plan` from `at` on. Call it in the transaction that
/// changes the account, when [`charged_plan`] changed.
pub async fn record(
    db: &impl ConnectionTrait,
    org: OrgId,
    plan: PlanName,
    at: DateTime<Utc>,
) -> Result<()> {
    billing_plan_changes::Entity::insert(billing_plan_changes::ActiveModel {
        org_id: Set(org),
        effective_at: Set(at),
        plan: Set(plan),
    })
    .on_conflict(
        OnConflict::columns([
            billing_plan_changes::Column::OrgId,
            billing_plan_changes::Column::EffectiveAt,
        ])
        .update_column(billing_plan_changes::Column::Plan)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// [`record`] when the update from `before` to `after` changed the charged plan.
pub async fn record_change(
    db: &impl ConnectionTrait,
    before: &billing_accounts::Model,
    after: &billing_accounts::Model,
    at: DateTime<Utc>,
) -> Result<()> {
    let charged = charged_plan(after.plan, after.status);
    if charged == charged_plan(before.plan, before.status) {
        return Ok(());
    }
    record(db, after.org_id, charged, at).await
}

/// A stretch of a period during which one plan was in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanSegment {
    pub plan: PlanName,
    pub start: DateTime<Utc>,
    /// Exclusive.
    pub end: DateTime<Utc>,
}

impl PlanSegment {
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }
}

/// The plans in force during `period`, in order; empty when the organization did not exist
/// yet by the period's end.
pub async fn segments(
    db: &impl ConnectionTrait,
    org: OrgId,
    period: Period,
) -> Result<Vec<PlanSegment>> {
    let changes = billing_plan_changes::Entity::find()
        .filter(billing_plan_changes::Column::OrgId.eq(org))
        .filter(billing_plan_changes::Column::EffectiveAt.lt(period.end))
        .order_by_asc(billing_plan_changes::Column::EffectiveAt)
        .all(db)
        .await?;
    Ok(split(&changes, period))
}

fn split(changes: &[billing_plan_changes::Model], period: Period) -> Vec<PlanSegment> {
    let mut segments: Vec<PlanSegment> = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let until = changes
            .get(i + 1)
            .map_or(period.end, |next| next.effective_at);
        let start = change.effective_at.max(period.start);
        let end = until.min(period.end);
        if start >= end {
            continue;
        }
        match segments.last_mut() {
            Some(last) if last.plan == change.plan => last.end = end,
            _ => segments.push(PlanSegment {
                plan: change.plan,
                start,
                end,
            }),
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn change(plan: PlanName, effective_at: DateTime<Utc>) -> billing_plan_changes::Model {
        billing_plan_changes::Model {
            org_id: OrgId::new(),
            effective_at,
            plan,
        }
    }

    #[test]
    fn a_period_splits_where_the_plan_changed() {
        let november = Period::containing(at(15, 0));
        let changes = [
            change(PlanName::Free, november.start - chrono::Duration::days(40)),
            change(PlanName::Team, november.start - chrono::Duration::days(3)),
            change(PlanName::Enterprise, at(10, 12)),
            // A change to the plan already in force does not split it.
            change(PlanName::Enterprise, at(20, 0)),
        ];
        assert_eq!(
            split(&changes, november),
            [
                PlanSegment {
                    plan: PlanName::Team,
                    start: november.start,
                    end: at(10, 12)
                },
                PlanSegment {
                    plan: PlanName::Enterprise,
                    start: at(10, 12),
                    end: november.end
                },
            ]
        );
    }

    #[test]
    fn nothing_before_the_first_change() {
        let november = Period::containing(at(15, 0));
        assert_eq!(split(&[change(PlanName::Team, november.end)], november), []);
        assert_eq!(
            split(&[change(PlanName::Team, at(10, 0))], november),
            [PlanSegment {
                plan: PlanName::Team,
                start: at(10, 0),
                end: november.end
            }]
        );
    }
}
