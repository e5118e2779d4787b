//! The run: a migrated database with the organizations the facts belong to, a check that
//! the plain statement is the ledger's without its `ON CONFLICT`, then rounds measuring both
//! modes at each statement size (the order turning every round, so a busy moment of the
//! machine does not always hit the same mode), each on an emptied table and each checked
//! against the table's contents.

use crate::ingest::{Measured, Mode, insert_plain, measure};
use crate::workload::{Workload, facts, workload};
use anyhow::{Context, Result, ensure};
use keynet_api::platform::{connect_options, migrate};
use keynet_billing::ledger::{self, Usage};
use keynet_domain::entities::organizations;
use keynet_domain::ids::OrgId;
use keynet_domain::time::now;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, Set, Statement,
};
use std::sync::{Arc, Mutex};

/// The organizations the facts are spread over.
pub const ORGS: usize = 100;

/// The platform's default pool size (`database_pool_size`).
const POOL_SIZE: u32 = 16;

pub struct Plan {
    pub writers: usize,
    /// Distinct facts per measurement at `batch` facts per statement.
    pub events: usize,
    /// Distinct facts per measurement at one fact per statement.
    pub single_events: usize,
    pub batch: usize,
    pub resent_percent: usize,
    pub rounds: usize,
}

impl Plan {
    /// Statement sizes and their distinct facts: `batch`, then one fact per statement.
    pub fn sizes(&self) -> Vec<(usize, usize)> {
        if self.batch == 1 {
            vec![(1, self.single_events)]
        } else {
            vec![(self.batch, self.events), (1, self.single_events)]
        }
    }

    pub fn pool_size(&self) -> u32 {
        POOL_SIZE.max(self.writers as u32)
    }
}

pub struct Round {
    pub dedup_first: bool,
    pub dedup: Measured,
    pub plain: Measured,
}

/// Every round at one statement size.
pub struct Size {
    pub batch: usize,
    pub distinct: usize,
    pub offered: usize,
    pub resent_by_same: usize,
    pub resent_by_other: usize,
    pub rounds: Vec<Round>,
}

pub struct StatementCheck {
    /// What the ledger's statement has after the plain one's text.
    pub ledger_suffix: String,
    /// Bind parameters per fact.
    pub parameters_per_fact: usize,
}

pub struct Figures {
    pub check: StatementCheck,
    pub indexes: Vec<String>,
    /// The server settings that move an insert's cost, as `name = value`.
    pub settings: Vec<String>,
    pub sizes: Vec<Size>,
}

pub async fn run(plan: &Plan, url: &str) -> Result<Figures> {
    let db = Database::connect(connect_options(url.to_string(), plan.pool_size()))
        .await
        .context("cannot connect to the database")?;
    migrate(&db).await?;
    let orgs = create_orgs(&db).await?;
    let indexes = indexes(&db).await?;
    let settings = settings(&db).await?;
    let check = statement_check(url, &facts(4, &orgs)).await?;
    eprintln!(
        "statement check: the ledger's statement is the plain one followed by `{}`",
        check.ledger_suffix
    );
    open_all_connections(&db, plan.pool_size()).await?;
    let workloads: Vec<(usize, Workload)> = plan
        .sizes()
        .into_iter()
        .map(|(batch, events)| {
            let w = workload(
                facts(events, &orgs),
                plan.writers,
                batch,
                plan.resent_percent,
            );
            (batch, w)
        })
        .collect();
    let mut sizes: Vec<Size> = workloads
        .iter()
        .map(|(batch, w)| Size {
            batch: *batch,
            distinct: w.facts.len(),
            offered: w.offered(),
            resent_by_same: w.resent_by_same,
            resent_by_other: w.resent_by_other,
            rounds: Vec::new(),
        })
        .collect();
    for round in 1..=plan.rounds {
        let dedup_first = round % 2 == 1;
        let order = if dedup_first {
            [Mode::Dedup, Mode::Plain]
        } else {
            [Mode::Plain, Mode::Dedup]
        };
        for ((batch, workload), size) in workloads.iter().zip(&mut sizes) {
            let mut dedup = None;
            let mut plain = None;
            for mode in order {
                let measured = measure_once(&db, workload, mode).await?;
                eprintln!(
                    "round {round} of {}, {batch} per statement, {}: {} facts in {:.2} s ({:.0}/s), {} new rows",
                    plan.rounds,
                    mode.name(),
                    measured.offered,
                    measured.seconds,
                    measured.offered_per_second(),
                    measured.inserted
                );
                match mode {
                    Mode::Dedup => dedup = Some(measured),
                    Mode::Plain => plain = Some(measured),
                }
            }
            size.rounds.push(Round {
                dedup_first,
                dedup: dedup.context("no dedup measurement")?,
                plain: plain.context("no plain measurement")?,
            });
        }
    }
    db.close().await?;
    Ok(Figures {
        check,
        indexes,
        settings,
        sizes,
    })
}

/// On an emptied table, after a checkpoint (so neither mode inherits the other's dirty
/// pages or pays for its checkpoint): one measurement, then the table checked.
async fn measure_once(
    db: &DatabaseConnection,
    workload: &Workload,
    mode: Mode,
) -> Result<Measured> {
    empty_the_ledger(db).await?;
    db.execute_unprepared("CHECKPOINT").await?;
    let statements = match mode {
        Mode::Dedup => &workload.dedup,
        Mode::Plain => &workload.plain,
    };
    let measured = measure(db, &workload.facts, statements, mode).await?;
    let distinct = workload.facts.len();
    ensure!(
        measured.inserted == distinct as u64,
        "{}: the statements reported {} new rows for {distinct} distinct facts",
        mode.name(),
        measured.inserted
    );
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n, count(DISTINCT idempotency_key) AS keys, \
             coalesce(sum(quantity), 0)::bigint AS quantity FROM usage_events",
        ))
        .await?
        .context("no answer to the count")?;
    let (n, keys, quantity): (i64, i64, i64) = (
        row.try_get("", "n")?,
        row.try_get("", "keys")?,
        row.try_get("", "quantity")?,
    );
    ensure!(
        n == distinct as i64 && keys == distinct as i64,
        "{}: the table holds {n} rows with {keys} distinct keys for {distinct} distinct facts",
        mode.name()
    );
    ensure!(
        quantity == workload.quantity_sum(),
        "{}: the stored quantities add up to {quantity}, the facts' to {}",
        mode.name(),
        workload.quantity_sum()
    );
    Ok(measured)
}

/// `CASCADE`: tables that reference the ledger's rows (what was sent to Stripe) are empty
/// here, but PostgreSQL refuses to truncate a referenced table alone.
async fn empty_the_ledger(db: &impl ConnectionTrait) -> Result<()> {
    db.execute_unprepared("TRUNCATE usage_events CASCADE")
        .await?;
    Ok(())
}

/// The ledger's indexes as migrated: each one is written by every insert.
async fn indexes(db: &DatabaseConnection) -> Result<Vec<String>> {
    let rows = db
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_events' ORDER BY indexname",
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let definition: String = row.try_get("", "indexdef")?;
            // "CREATE UNIQUE INDEX uq_usage_events_key ON public.usage_events USING btree (…)"
            Ok(definition
                .replace("CREATE ", "")
                .replace(" ON public.usage_events USING btree", ""))
        })
        .collect()
}

/// Whether a commit waits for the disk, how much of the table stays in memory, and whether
/// autovacuum may start during a measurement.
async fn settings(db: &DatabaseConnection) -> Result<Vec<String>> {
    let rows = db
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            // current_setting gives each value with its unit, as in postgresql.conf.
            "SELECT name, current_setting(name) AS setting FROM pg_settings \
             WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_wal_size', \
             'autovacuum') ORDER BY name",
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("", "name")?;
            let setting: String = row.try_get("", "setting")?;
            Ok(format!("{name} = {setting}"))
        })
        .collect()
}

async fn create_orgs(db: &DatabaseConnection) -> Result<Vec<OrgId>> {
    let at = now();
    let ids: Vec<OrgId> = (0..ORGS).map(|_| OrgId::new()).collect();
    organizations::Entity::insert_many(ids.iter().enumerate().map(|(i, id)| {
        organizations::ActiveModel {
            id: Set(*id),
            name: Set(format!("Ledger bench {i}")),
            slug: Set(format!("ledger-bench-{i}")),
            created_at: Set(at),
            updated_at: Set(at),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(ids)
}

/// Captures the SQL of `ledger::record` and of the plain insert for two facts each, on a
/// connection of its own, and checks that they differ only by the ledger's `ON CONFLICT`.
async fn statement_check(url: &str, four: &[Usage]) -> Result<StatementCheck> {
    let mut db = Database::connect(connect_options(url.to_string(), 1)).await?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    db.set_metric_callback(move |info| {
        let parameters = info.statement.values.as_ref().map_or(0, |v| v.0.len());
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((info.statement.sql.clone(), parameters));
    });
    ledger::record(&db, four[..2].to_vec()).await?;
    insert_plain(&db, four[2..].to_vec()).await?;
    empty_the_ledger(&db).await?;
    db.close().await?;
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let [(ledger_sql, parameters), (plain_sql, _), ..] = seen.as_slice() else {
        anyhow::bail!("captured {} statements, expected 3", seen.len());
    };
    let suffix = ledger_sql
        .strip_prefix(plain_sql.as_str())
        .filter(|rest| rest.trim_start().starts_with("ON CONFLICT"))
        .with_context(|| {
            format!("the plain statement is not the ledger's without ON CONFLICT:\n{ledger_sql}\n{plain_sql}")
        })?;
    Ok(StatementCheck {
        ledger_suffix: suffix.trim().to_string(),
        parameters_per_fact: parameters / 2,
    })
}

/// sqlx opens connections on demand: without this the first measurement would pay for
/// opening the pool.
async fn open_all_connections(db: &DatabaseConnection, size: u32) -> Result<()> {
    let mut held = tokio::task::JoinSet::new();
    for _ in 0..size {
        let db = db.clone();
        held.spawn(async move { db.execute_unprepared("SELECT pg_sleep(0.2)").await });
    }
    while let Some(done) = held.join_next().await {
        done??;
    }
    Ok(())
}
