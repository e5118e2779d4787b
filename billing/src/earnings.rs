//! `authorEarnings`: other organizations' use of an author's trainers, per trainer, with
//! the revenue it brought (at each user's plan prices) and the author's share of it.

use crate::accounts;
use crate::config::BillingConfig;
use crate::error::Result;
use crate::meters::{Meter, amount};
use chrono::{DateTime, Utc};
use keynet_domain::entities::{trainer_versions, trainers};
use keynet_domain::ids::{OrgId, TrainerId, TrainerVersionId};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainerEarnings {
    pub trainer_id: TrainerId,
    pub trainer_name: String,
    /// Jobs of other organizations that ran it.
    pub runs: i64,
    pub gpu_seconds: i64,
    pub cpu_seconds: i64,
    /// What those organizations were charged for that use, in minor units.
    pub revenue: i64,
    pub author_share: i64,
}

struct UseRow {
    version: TrainerVersionId,
    user_org: OrgId,
    meter: Meter,
    quantity: i64,
    runs: i64,
}

pub(crate) async fn of_author(
    db: &impl ConnectionTrait,
    config: &BillingConfig,
    author: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TrainerEarnings>> {
    let rows = uses(db, author, from, to).await?;
    let versions: Vec<TrainerVersionId> = rows.iter().map(|r| r.version).collect();
    let trainer_of: BTreeMap<TrainerVersionId, TrainerId> = trainer_versions::Entity::find()
        .filter(trainer_versions::Column::Id.is_in(versions))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.trainer_id))
        .collect();
    let names: BTreeMap<TrainerId, String> = trainers::Entity::find()
        .filter(trainers::Column::OrgId.eq(author))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut per_trainer: BTreeMap<TrainerId, TrainerEarnings> = BTreeMap::new();
    let mut plans = BTreeMap::new();
    for row in rows {
        let Some(trainer) = trainer_of.get(&row.version).copied() else {
            continue;
        };
        if let Entry::Vacant(slot) = plans.entry(row.user_org) {
            let account = accounts::ensure(db, row.user_org, config).await?;
            slot.insert(accounts::effective_plan(&account));
        }
        let plan = config.plans.get(plans[&row.user_org]);
        let entry = per_trainer
            .entry(trainer)
            .or_insert_with(|| TrainerEarnings {
                trainer_id: trainer,
                trainer_name: names.get(&trainer).cloned().unwrap_or_default(),
                ..TrainerEarnings::default()
            });
        match row.meter {
            Meter::GpuSeconds => entry.gpu_seconds += row.quantity,
            // Every attempt meters CPU time: its distinct jobs are the runs.
            Meter::CpuSeconds => {
                entry.cpu_seconds += row.quantity;
                entry.runs += row.runs;
            }
            Meter::InferenceRequests => {}
        }
        entry.revenue += amount(row.quantity, plan.price(row.meter), row.meter.price_unit());
    }
    Ok(per_trainer
        .into_values()
        .map(|mut e| {
            e.author_share = e.revenue * config.author_share_percent / 100;
            e
        })
        .collect())
}

/// Charged use of the author's trainer versions by other organizations, per version, user
/// organization and meter.
async fn uses(
    db: &impl ConnectionTrait,
    author: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UseRow>> {
    let backend = db.get_database_backend();
    let (p1, p2, p3) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?1", "?2", "?3"),
    };
    let sql = format!(
        "SELECT trainer_version_id, org_id, meter, \
            CAST(SUM(quantity) AS BIGINT) AS quantity, \
            COUNT(DISTINCT job_id) AS runs \
         FROM usage_events \
         WHERE trainer_org_id = {p1} AND org_id <> {p1} AND NOT credited \
            AND occurred_at >= {p2} AND occurred_at < {p3} \
            AND trainer_version_id IS NOT NULL \
         GROUP BY trainer_version_id, org_id, meter"
    );
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            sql,
            [author.into(), from.into(), to.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(UseRow {
                version: row.try_get("", "trainer_version_id")?,
                user_org: row.try_get("", "org_id")?,
                meter: row.try_get("", "meter")?,
                quantity: row.try_get("", "quantity")?,
                runs: row.try_get("", "runs")?,
            })
        })
        .collect()
}
