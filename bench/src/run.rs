//! One benchmark run: seed, launch the measured platform, then measure every cell, the N+1
//! check and the login cost, and collect the figures for the report.

use crate::direct::{self, DirectSql, Session};
use crate::graphql::{self, GraphqlCall};
use crate::load::{LoadPlan, Measured, closed_loop};
use crate::login::{self, LoginCost};
use crate::probe::{SqlProbe, SqlTally};
use crate::report::Environment;
use crate::seed::{self, BIG_ORG, SMALL_ORG, Seeded};
use crate::stack;
use crate::statements::{self, Requests, StatementCheck};
use anyhow::{Context, Result};
use keynet_api::Platform;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub struct Plan {
    pub warmup: Duration,
    pub measure: Duration,
    pub concurrency: Vec<usize>,
    pub logins: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Me,
    OrgMembers,
}

impl Workload {
    pub const ALL: [Workload; 2] = [Workload::Me, Workload::OrgMembers];

    pub fn label(self) -> &'static str {
        match self {
            Workload::Me => "`me`",
            Workload::OrgMembers => "`organization{members(first: 20)}`",
        }
    }
}

/// One path (GraphQL or direct SQL) of one cell, with the SQL its pool ran meanwhile.
pub struct Side {
    pub measured: Measured,
    pub sql: SqlTally,
}

impl Side {
    pub fn statements_per_request(&self) -> f64 {
        self.sql.statements as f64 / self.measured.sent.max(1) as f64
    }

    pub fn sql_ms_per_request(&self) -> f64 {
        self.sql.nanos as f64 / 1e6 / self.measured.sent.max(1) as f64
    }

    pub fn mean_ms(&self) -> f64 {
        self.measured.latency.mean() / 1e6
    }
}

pub struct Cell {
    pub workload: Workload,
    pub concurrency: usize,
    pub graphql: Side,
    pub direct: Side,
}

pub struct Figures {
    pub environment: Environment,
    /// The `me` statement with and without the session check, at concurrency 1.
    pub session_check: SessionCheck,
    /// `GET /healthz` at each concurrency: what HTTP alone costs.
    pub http_floor: Vec<(usize, Measured)>,
    pub cells: Vec<Cell>,
    pub statements: StatementCheck,
    pub login: LoginCost,
}

/// The load-time requests, prepared once.
struct Calls {
    me: GraphqlCall,
    members: GraphqlCall,
    members_small: GraphqlCall,
}

impl Calls {
    fn new(client: &reqwest::Client, base_url: &str, token: &str) -> Self {
        let members_of = |slug: &str| {
            GraphqlCall::new(
                client,
                base_url,
                token,
                graphql::ORG_MEMBERS,
                json!({"slug": slug}),
            )
        };
        Self {
            me: GraphqlCall::new(client, base_url, token, graphql::ME, json!({})),
            members: members_of(BIG_ORG.slug),
            members_small: members_of(SMALL_ORG.slug),
        }
    }

    fn of(&self, workload: Workload) -> &GraphqlCall {
        match workload {
            Workload::Me => &self.me,
            Workload::OrgMembers => &self.members,
        }
    }
}

pub async fn run(plan: &Plan, database_url: String) -> Result<Figures> {
    let data_dir = tempfile::tempdir().context("cannot create a data folder")?;
    let settings = stack::settings(&database_url, data_dir.path())?;
    progress(
        "seeding: an owner, organizations of 20 and 2 members (signups hash passwords: a few seconds)",
    );
    let seeded = seed::seed(&settings).await?;
    let (platform, server_sql) = stack::launch_measured(&settings).await?;
    let figures = measure(plan, &platform, &server_sql, &seeded, &database_url).await;
    platform.stop().await?;
    figures
}

async fn measure(
    plan: &Plan,
    platform: &Platform,
    server_sql: &SqlProbe,
    seeded: &Seeded,
    database_url: &str,
) -> Result<Figures> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let base_url = platform.url();
    let calls = Calls::new(&client, &base_url, &seeded.owner.token);
    let viewer = platform
        .domain
        .authenticate(&seeded.owner.token, None)
        .await
        .context("the owner's token is refused")?;
    let owner = Session {
        user: viewer.user_id,
        family: viewer.require_session()?,
    };

    progress("capturing the statements of one request of each kind");
    let probe_pool = DirectSql::connect(database_url, 1).await?;
    let environment = Environment::read(&probe_pool.db).await?;
    let requests = Requests {
        me: &calls.me,
        members_small: &calls.members_small,
        members_big: &calls.members,
    };
    let owner_ref = (owner, seeded.owner.email.as_str());
    let statements = statements::check(
        requests,
        server_sql,
        &probe_pool,
        owner_ref,
        SMALL_ORG,
        BIG_ORG,
    )
    .await?;

    let load_at = |concurrency| LoadPlan {
        concurrency,
        warmup: plan.warmup,
        measure: plan.measure,
    };
    let mut http_floor = Vec::new();
    for &concurrency in &plan.concurrency {
        let floor = measure_http_floor(&client, &base_url, load_at(concurrency)).await?;
        http_floor.push((concurrency, floor));
    }
    let mut cells = Vec::new();
    for workload in Workload::ALL {
        for &concurrency in &plan.concurrency {
            let load = load_at(concurrency);
            let cell =
                measure_cell(workload, load, &calls, server_sql, database_url, owner).await?;
            cells.push(cell);
        }
    }

    progress("the session check: the `me` statement with and without it, alternated");
    let session_check = measure_session_check(load_at(1), database_url, owner).await?;

    progress(&format!("timing {} sequential logins", plan.logins));
    let login = login::measure(
        &client,
        &base_url,
        &seeded.owner.email,
        &probe_pool.db,
        plan.logins,
    )
    .await?;
    probe_pool.db.close().await?;
    Ok(Figures {
        environment,
        session_check,
        http_floor,
        cells,
        statements,
        login,
    })
}

/// The GraphQL path then the direct SQL, back to back, so both see the same machine state.
async fn measure_cell(
    workload: Workload,
    load: LoadPlan,
    calls: &Calls,
    server_sql: &SqlProbe,
    database_url: &str,
    owner: Session,
) -> Result<Cell> {
    progress(&format!(
        "{} at concurrency {}: GraphQL",
        workload.label(),
        load.concurrency
    ));
    let graphql = measure_graphql(calls.of(workload), load, server_sql).await?;
    progress(&format!(
        "{} at concurrency {}: direct SQL",
        workload.label(),
        load.concurrency
    ));
    // The same pool size as the platform's, so both sides queue for connections alike.
    let pool_size = keynet_api::Settings::default().database_pool_size;
    let pool = DirectSql::connect(database_url, pool_size).await?;
    let direct = measure_direct(workload, load, &pool, owner).await;
    pool.db.close().await?;
    Ok(Cell {
        workload,
        concurrency: load.concurrency,
        graphql,
        direct: direct?,
    })
}

async fn measure_http_floor(
    client: &reqwest::Client,
    base_url: &str,
    load: LoadPlan,
) -> Result<Measured> {
    progress(&format!("GET /healthz at concurrency {}", load.concurrency));
    let (client, url) = (
        client.clone(),
        Arc::<str>::from(format!("{base_url}/healthz")),
    );
    closed_loop(load, move || {
        let (client, url) = (client.clone(), url.clone());
        async move { graphql::healthz(&client, &url).await }
    })
    .await
}

async fn measure_graphql(
    call: &GraphqlCall,
    load: LoadPlan,
    server_sql: &SqlProbe,
) -> Result<Side> {
    let before = server_sql.tally();
    let call = call.clone();
    let measured = closed_loop(load, move || {
        let call = call.clone();
        async move { call.send().await }
    })
    .await?;
    Ok(Side {
        measured,
        sql: server_sql.tally().since(before),
    })
}

/// What checking the session costs each request: `me`'s statement with the check and
/// without, on one pool, in alternated rounds so both see the same machine.
pub struct SessionCheck {
    pub with: Vec<Measured>,
    pub without: Vec<Measured>,
}

const SESSION_CHECK_ROUNDS: usize = 3;

async fn measure_session_check(
    load: LoadPlan,
    database_url: &str,
    owner: Session,
) -> Result<SessionCheck> {
    let pool = DirectSql::connect(database_url, 1).await?;
    let mut check = SessionCheck {
        with: Vec::new(),
        without: Vec::new(),
    };
    for _ in 0..SESSION_CHECK_ROUNDS {
        let db = pool.db.clone();
        check.with.push(
            closed_loop(load, move || {
                let db = db.clone();
                async move { direct::me(&db, owner).await.map(drop) }
            })
            .await?,
        );
        let db = pool.db.clone();
        check.without.push(
            closed_loop(load, move || {
                let db = db.clone();
                async move { direct::me_without_session_check(&db, owner).await.map(drop) }
            })
            .await?,
        );
    }
    pool.db.close().await?;
    Ok(check)
}

async fn measure_direct(
    workload: Workload,
    load: LoadPlan,
    pool: &DirectSql,
    owner: Session,
) -> Result<Side> {
    let before = pool.probe.tally();
    let db = pool.db.clone();
    let measured = match workload {
        Workload::Me => {
            closed_loop(load, move || {
                let db = db.clone();
                async move { direct::me(&db, owner).await.map(drop) }
            })
            .await?
        }
        Workload::OrgMembers => {
            let slug: Arc<str> = BIG_ORG.slug.into();
            closed_loop(load, move || {
                let (db, slug) = (db.clone(), slug.clone());
                async move { direct::org_members(&db, owner, &slug).await.map(drop) }
            })
            .await?
        }
    };
    Ok(Side {
        measured,
        sql: pool.probe.tally().since(before),
    })
}

/// Progress goes to stderr; stdout carries only the report.
pub fn progress(message: &str) {
    eprintln!("keynet-bench: {message}");
}
