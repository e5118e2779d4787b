//! `write_bench`: how many writing requests the platform answers per second on its embedded
//! default (SQLite), and how many fail, against PostgreSQL in the same run. Each request is a
//! `createProject` mutation over HTTP (one transaction: the project and its audit entry),
//! from N clients in a closed loop; any answer with errors stops the cell and is reported.
//! The platform runs in process without background workers. The Markdown report goes to
//! stdout, progress to stderr.

#[path = "../load.rs"]
mod load;
#[path = "../machine.rs"]
mod machine;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use keynet_api::Settings;
use keynet_api::platform::launch;
use keynet_testkit::Gql;
use keynet_testkit::pg::TestDatabase;
use load::{LoadPlan, Measured, closed_loop};
use machine::{Machine, load_average, percentile, sorted};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const JWT_SECRET: &str = "keynet-bench-only-secret-0123456789abcdef";
const CREATE_PROJECT: &str =
    "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }";

/// Times concurrent `createProject` requests on SQLite and on PostgreSQL.
#[derive(Parser, Debug)]
struct Args {
    /// Concurrent clients per cell, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    clients: Vec<usize>,
    /// Seconds measured per round of a cell, after one second of warm-up.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Rounds per cell; the report gives the median round.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

struct Cell {
    backend: &'static str,
    clients: usize,
    rounds: Vec<Measured>,
}

impl Cell {
    /// The round of median throughput (nearest rank).
    fn median(&self) -> &Measured {
        let rates = sorted(
            &self
                .rounds
                .iter()
                .map(Measured::per_second)
                .collect::<Vec<_>>(),
        );
        let median = percentile(&rates, 50.0);
        self.rounds
            .iter()
            .find(|round| round.per_second() == median)
            .unwrap_or(&self.rounds[0])
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.clients.iter().all(|c| (1..=1024).contains(c)),
        "--clients takes 1 to 1024"
    );
    ensure!(args.rounds >= 1, "--rounds takes at least 1");
    let machine = Machine::capture();
    let mut cells = Vec::new();
    let sqlite_dir = tempfile::tempdir()?;
    cells.extend(measure("SQLite (embedded default)", None, sqlite_dir.path(), &args).await?);
    let database = TestDatabase::create().await;
    let postgres_dir = tempfile::tempdir()?;
    let on_postgres = measure(
        "PostgreSQL",
        Some(&database.url),
        postgres_dir.path(),
        &args,
    )
    .await;
    database.drop_database().await;
    cells.extend(on_postgres?);
    print!("{}", report(&machine, &args, &cells)?);
    Ok(())
}

async fn measure(
    backend: &'static str,
    database_url: Option<&str>,
    data_dir: &std::path::Path,
    args: &Args,
) -> Result<Vec<Cell>> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url: database_url.map(Into::into),
        run_workers: false,
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    let settings = settings
        .resolve()
        .context("the bench settings are refused")?;
    let platform = launch(settings).await?;
    let gql = Gql::new(platform.url());
    let owner = gql.signup("owner@example.com").await;
    let org = gql.create_org(&owner, "bench-writes").await;
    let mut cells = Vec::new();
    for &clients in &args.clients {
        eprintln!("{backend}: {clients} clients");
        let plan = LoadPlan {
            concurrency: clients,
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(args.seconds),
        };
        let mut rounds = Vec::new();
        for _ in 0..args.rounds {
            let request = create_project(&gql, &owner.token, &org);
            let measured = closed_loop(plan, request)
                .await
                .with_context(|| format!("{backend} at {clients} clients"))?;
            rounds.push(measured);
        }
        cells.push(Cell {
            backend,
            clients,
            rounds,
        });
    }
    platform.stop().await?;
    Ok(cells)
}

/// One `createProject` per call, each with a title of its own; an answer with errors fails.
fn create_project(
    gql: &Gql,
    token: &str,
    org: &str,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>> + Clone + Send + 'static
{
    let gql = gql.clone();
    let token = token.to_string();
    let org = org.to_string();
    let counter = Arc::new(AtomicU64::new(0));
    move || {
        let (gql, token, org) = (gql.clone(), token.clone(), org.clone());
        let n = counter.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let answer: Value = gql
                .post(
                    Some(&token),
                    CREATE_PROJECT,
                    json!({"i": {"orgId": org, "title": format!("Project {n}"), "taskType": "CLASSIFICATION"}}),
                )
                .await;
            if let Some(errors) = answer.get("errors") {
                bail!("a write failed: {errors}");
            }
            Ok(())
        })
    }
}

fn report(machine: &Machine, args: &Args, cells: &[Cell]) -> Result<String> {
    let mut out = String::new();
    machine.write_heading(&mut out, "write_bench")?;
    writeln!(
        out,
        "- load: `createProject` over HTTP from N clients in a closed loop, 1 s warm-up, {} s measured, {} rounds per cell (the median round shown, all rounds' rates after it); no background workers",
        args.seconds, args.rounds
    )?;
    writeln!(
        out,
        "- load average before / after: {} / {}\n",
        machine.load_average,
        load_average()
    )?;
    writeln!(
        out,
        "| backend | clients | writes/s | p50 ms | p99 ms | failed requests | rounds (writes/s) |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | --- |")?;
    for cell in cells {
        let median = cell.median();
        let rounds: Vec<String> = cell
            .rounds
            .iter()
            .map(|round| format!("{:.0}", round.per_second()))
            .collect();
        // A failed request stops the run with its error, so a report means none failed.
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | 0 | {} |",
            cell.backend,
            cell.clients,
            median.per_second(),
            median.p50_ms(),
            median.p99_ms(),
            rounds.join(" / ")
        )?;
    }
    Ok(out)
}
