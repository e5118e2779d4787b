//! The Markdown report: what ran where, the read cells, where their time goes, the login
//! cost and the N+1 check.

use crate::load::Measured;
use crate::login::{LoginCost, Summary};
use crate::run::{Cell, Figures, Plan, SessionCheck};
use crate::statements::StatementCheck;
use anyhow::{Context, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::fmt::Write;

/// The GraphQL path may add this much to the p50 of the same SQL run directly.
const TARGET_ADDED_P50_MS: f64 = 1.0;

pub struct Environment {
    pub date: String,
    pub postgres: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub profile: &'static str,
    pub command: String,
}

impl Environment {
    /// The date and version come from PostgreSQL, which the run uses anyway.
    pub async fn read(db: &DatabaseConnection) -> Result<Self> {
        let row = db
            .query_one(Statement::from_string(
                DbBackend::Postgres,
                "SELECT version() AS version, \
                 to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"') AS at",
            ))
            .await?
            .context("PostgreSQL returned no version")?;
        let version: String = row.try_get("", "version")?;
        Ok(Self {
            date: row.try_get("", "at")?,
            // "PostgreSQL 15.20 (Debian …) on x86_64-pc-linux-gnu, compiled by …"
            postgres: version.split(" on ").next().unwrap_or(&version).to_string(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpu_model().unwrap_or_else(|| "unknown CPU".into()),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "optimized"
            },
            command: std::env::args().collect::<Vec<_>>().join(" "),
        })
    }
}

/// The 1, 5 and 15-minute load averages. Other work on the machine skews every figure, so
/// the report shows how busy it was before the run.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = cpuinfo.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// `load_before` is the load average read before the run started.
pub fn render(plan: &Plan, figures: &Figures, load_before: &str) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, figures, load_before);
    out
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    figures: &Figures,
    load_before: &str,
) -> std::fmt::Result {
    let env = &figures.environment;
    writeln!(out, "## Keynet benchmark, {}\n", env.date)?;
    writeln!(out, "- command: `{}`", env.command)?;
    writeln!(
        out,
        "- machine: {} CPUs ({}), {} build",
        env.cpus, env.cpu_model, env.profile
    )?;
    writeln!(
        out,
        "- database: {} on 127.0.0.1, a fresh database",
        env.postgres
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {load_before}"
    )?;
    writeln!(
        out,
        "- each cell: {:.1} s warm-up, then {:.1} s measured; closed loop (each connection sends its next request when the previous one answered)",
        plan.warmup.as_secs_f64(),
        plan.measure.as_secs_f64()
    )?;
    writeln!(
        out,
        "- load generator, platform (default settings: one HTTP worker per CPU, a pool of 16 connections) and PostgreSQL share this machine's CPUs\n"
    )?;
    write_reads(out, &figures.cells)?;
    write_time_split(out, &figures.cells)?;
    write_http_floor(out, &figures.http_floor)?;
    write_login(out, &figures.login)?;
    write_session_check(out, &figures.session_check)?;
    write_statements(out, &figures.statements)
}

/// The issue's bound on what the session check may add to `me`'s p50.
const SESSION_CHECK_BUDGET_MS: f64 = 0.05;

fn write_session_check(out: &mut String, check: &SessionCheck) -> std::fmt::Result {
    writeln!(
        out,
        "### The session check (`me`'s statement, direct SQL, 1 connection, alternated rounds)\n"
    )?;
    writeln!(
        out,
        "| round | with the check p50 ms | without p50 ms | added ms | within {SESSION_CHECK_BUDGET_MS} ms |"
    )?;
    writeln!(out, "|--:|--:|--:|--:|:-:|")?;
    for (round, (with, without)) in check.with.iter().zip(&check.without).enumerate() {
        let added = with.p50_ms() - without.p50_ms();
        writeln!(
            out,
            "| {} | {:.3} | {:.3} | {:.3} | {} |",
            round + 1,
            with.p50_ms(),
            without.p50_ms(),
            added,
            if added <= SESSION_CHECK_BUDGET_MS {
                "yes"
            } else {
                "**no**"
            }
        )?;
    }
    writeln!(out)
}

fn write_reads(out: &mut String, cells: &[Cell]) -> std::fmt::Result {
    writeln!(
        out,
        "### Reads: GraphQL over HTTP vs the same SQL run directly\n"
    )?;
    writeln!(
        out,
        "| query | conns | GraphQL req/s | GraphQL p50 ms | GraphQL p99 ms | SQL req/s | SQL p50 ms | SQL p99 ms | p50 added by GraphQL ms | under {TARGET_ADDED_P50_MS} ms |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|")?;
    for cell in cells {
        let (g, d) = (&cell.graphql.measured, &cell.direct.measured);
        let added = g.p50_ms() - d.p50_ms();
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {:.3} | {} |",
            cell.workload.label(),
            cell.concurrency,
            g.per_second(),
            g.p50_ms(),
            g.p99_ms(),
            d.per_second(),
            d.p50_ms(),
            d.p99_ms(),
            added,
            if added < TARGET_ADDED_P50_MS {
                "yes"
            } else {
                "**no**"
            },
        )?;
    }
    writeln!(out)
}

fn write_time_split(out: &mut String, cells: &[Cell]) -> std::fmt::Result {
    writeln!(
        out,
        "### Where the time goes (means per request over the whole cell)\n"
    )?;
    writeln!(
        out,
        "SQL time is measured around each statement on the connection (the wait for a pooled connection is not in it).\n"
    )?;
    writeln!(
        out,
        "| query | conns | statements GraphQL / direct | GraphQL mean ms | of which SQL ms | not SQL ms | direct mean ms | of which SQL ms |"
    )?;
    writeln!(out, "|---|--:|:-:|--:|--:|--:|--:|--:|")?;
    for cell in cells {
        let (g, d) = (&cell.graphql, &cell.direct);
        writeln!(
            out,
            "| {} | {} | {:.2} / {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            cell.workload.label(),
            cell.concurrency,
            g.statements_per_request(),
            d.statements_per_request(),
            g.mean_ms(),
            g.sql_ms_per_request(),
            g.mean_ms() - g.sql_ms_per_request(),
            d.mean_ms(),
            d.sql_ms_per_request(),
        )?;
    }
    writeln!(out)
}

fn write_http_floor(out: &mut String, floor: &[(usize, Measured)]) -> std::fmt::Result {
    writeln!(
        out,
        "### HTTP alone: `GET /healthz` (no GraphQL, no SQL; same client, server and middleware)\n"
    )?;
    writeln!(out, "| conns | req/s | p50 ms | p99 ms |")?;
    writeln!(out, "|--:|--:|--:|--:|")?;
    for (concurrency, m) in floor {
        writeln!(
            out,
            "| {concurrency} | {:.0} | {:.3} | {:.3} |",
            m.per_second(),
            m.p50_ms(),
            m.p99_ms()
        )?;
    }
    writeln!(out)
}

fn write_login(out: &mut String, login: &LoginCost) -> std::fmt::Result {
    writeln!(out, "### Login (sequential, one at a time)\n")?;
    writeln!(out, "| what | n | mean ms | p50 ms | min ms | max ms |")?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|")?;
    let row = |out: &mut String, what: &str, s: &Summary| {
        writeln!(
            out,
            "| {what} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            s.count, s.mean_ms, s.p50_ms, s.min_ms, s.max_ms
        )
    };
    row(out, "`login` mutation over HTTP", &login.over_graphql)?;
    row(
        out,
        "`passwords::verify` alone (argon2id, 19 MiB, t=2, p=1)",
        &login.verify_alone,
    )?;
    writeln!(out)
}

fn write_statements(out: &mut String, check: &StatementCheck) -> std::fmt::Result {
    writeln!(out, "### N+1 check (statements one request runs)\n")?;
    writeln!(
        out,
        "- `organization{{members(first: 20)}}`: {} statements with {} members, {} with {} members: {}",
        check.members_small.len(),
        check.small_members,
        check.members_big.len(),
        check.big_members,
        if check.no_n_plus_one() {
            "equal, no N+1"
        } else {
            "**they differ: N+1**"
        }
    )?;
    writeln!(out, "- `me`: {} statements", check.me.len())?;
    writeln!(
        out,
        "- the direct-SQL baseline runs the same statements (identical SQL text): {}\n",
        if check.direct_runs_the_same_sql() {
            "yes"
        } else {
            "**no**"
        }
    )?;
    writeln!(
        out,
        "Statements of one `organization{{members(first: 20)}}` request:\n"
    )?;
    writeln!(out, "```sql")?;
    for sql in &check.members_big {
        writeln!(out, "{sql};")?;
    }
    writeln!(out, "```")
}
