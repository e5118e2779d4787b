//! Assembles a running platform from settings: database (migrated), domain, event bus,
//! mailer, in-process workers and the HTTP server. `keynet serve` and the tests both use it.

use crate::browser;
use crate::console::Console;
use crate::graphql;
use crate::http::{AppState, observe, routes};
use crate::inference::{Inference, InferenceSettings, RemoteReplicas};
use crate::metrics::Metrics;
use crate::settings::{DockerMode, Settings, StorageBackend};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use keynet_billing::endpoints::EndpointMeter;
use keynet_billing::{Billing, BillingHook};
use keynet_domain::Domain;
use keynet_domain::auth::jwt::JwtKeys;
use keynet_domain::config::{DomainConfig, ThrottleConfig};
use keynet_domain::events::{EventBus, LocalEventBus, PgEventBus};
use keynet_domain::storage::BlobStore;
use keynet_marketplace::{Catalog, Marketplace};
use keynet_migrations::{Migrator, MigratorTrait};
use keynet_serving::Engine;
use keynet_storage::{LocalStore, S3Store};
use keynet_workers::executor::{DockerExecutor, Executor, ProcessExecutor};
use keynet_workers::serving::{LocalReplicas, ServingHost, ServingHostConfig};
use keynet_workers::{
    CollectBlobsHandler, EmailHandler, ImportHandler, JobHandler, JobRunnerConfig, Mailer,
    RunnerConfig, TaskRunner, TrainerCheckHandler, TrainerImages,
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct Platform {
    pub addr: SocketAddr,
    pub domain: Arc<Domain>,
    pub marketplace: Arc<Marketplace>,
    pub billing: Arc<Billing>,
    server: ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    workers: Option<JoinHandle<()>>,
    /// Writes the endpoint requests this instance answered to the ledger.
    metering: JoinHandle<()>,
    shutdown: CancellationToken,
}

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let sqlite = url.starts_with("sqlite:");
    if sqlite && settings.database_url.is_none() {
        create_data_dir(&settings.data_dir)?;
    }
    let db = Database::connect(connect_options(url, settings.database_pool_size))
        .await
        .context("cannot connect to the database (database_url)")?;
    if sqlite {
        // Readers do not wait for the writer in WAL mode; the setting stays with the file.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// The pool options of the platform (also used by the benchmark's direct-SQL baseline, so
/// both run on identical pools).
pub fn connect_options(url: String, pool_size: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(pool_size)
        .connect_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: one more round trip per
        // statement. A broken connection fails its statement instead and is replaced.
        .test_before_acquire(false)
        .idle_timeout(Duration::from_secs(300))
        // Writes outside a domain transaction (and other processes on the same file) wait
        // for SQLite's lock this long before they fail; the domain's own transactions queue
        // in process and never time out (see `Domain::begin`).
        .map_sqlx_sqlite_opts(|sqlite| sqlite.busy_timeout(SQLITE_BUSY_TIMEOUT));
    options
}

/// Long enough that a writer waits out a queue of others under load rather than failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("applying database migrations failed")
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {} (data_dir)", dir.display()))
}

/// The configured secret, or one generated once and kept in the data folder as
/// `file_name`, so the embedded default needs no configuration and survives restarts.
fn configured_or_generated_secret(
    settings: &Settings,
    configured: &Option<String>,
    file_name: &str,
    setting: &str,
) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    create_data_dir(&settings.data_dir)?;
    let path = settings.data_dir.join(file_name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &secret)?;
    tracing::warn!(path = %path.display(), setting, "generated a secret; set it when several instances serve one database");
    Ok(secret.into_bytes())
}

/// The blob store the settings choose, and the local one also as itself (its signed URLs
/// are served by Keynet).
async fn blob_store(settings: &Settings, public_url: &str) -> anyhow::Result<Blobs> {
    match settings.storage.backend {
        StorageBackend::S3 => {
            let store = S3Store::new(&settings.storage.s3)?;
            store
                .check()
                .await
                .context("the S3 bucket does not answer (storage.s3)")?;
            Ok(Blobs {
                browser_origin: Some(store.origin()),
                store: Arc::new(store),
                local: None,
            })
        }
        StorageBackend::Local => {
            let key = configured_or_generated_secret(
                settings,
                &settings.storage.signing_key,
                "blob-signing-key",
                "storage.signing_key",
            )?;
            let root = settings.data_dir.join("blobs");
            std::fs::create_dir_all(&root)
                .with_context(|| format!("cannot create {}", root.display()))?;
            let store = Arc::new(LocalStore::new(root, public_url, key)?);
            Ok(Blobs {
                store: store.clone(),
                local: Some(store),
                browser_origin: None,
            })
        }
    }
}

/// The configured blob store.
struct Blobs {
    store: Arc<dyn BlobStore>,
    /// Set when it is the local one: Keynet serves its signed URLs.
    local: Option<Arc<LocalStore>>,
    /// Where browsers move blobs when that is not Keynet's own origin.
    browser_origin: Option<String>,
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

fn mailer(settings: &Settings) -> anyhow::Result<Mailer> {
    match &settings.email.smtp_url {
        Some(url) => Mailer::smtp(url, &settings.email.from),
        None => Mailer::outbox(settings.data_dir.join("outbox"), &settings.email.from),
    }
}

/// The executors jobs may run on, Docker first; and what resolves registered images.
pub struct Executors {
    list: Vec<Arc<dyn Executor>>,
    pub images: Arc<TrainerImages>,
}

async fn executors(settings: &Settings) -> anyhow::Result<Executors> {
    let docker = match settings.executor.docker {
        DockerMode::Off => None,
        DockerMode::On => {
            Some(Arc::new(DockerExecutor::connect().await.context(
                "no Docker engine answers (executor.docker = \"on\")",
            )?))
        }
        DockerMode::Auto => match DockerExecutor::connect().await {
            Ok(docker) => Some(Arc::new(docker)),
            Err(e) => {
                tracing::info!(error = %format!("{e:#}"), "no Docker engine; jobs run on the process executor only");
                None
            }
        },
    };
    let process = Arc::new(ProcessExecutor::new(settings.process_dirs()));
    let mut list: Vec<Arc<dyn Executor>> = Vec::new();
    if let Some(docker) = &docker {
        list.push(docker.clone());
    }
    list.push(process.clone());
    Ok(Executors {
        list,
        images: Arc::new(TrainerImages::new(docker, Some(process))),
    })
}

/// Two runners: jobs take their own slots, so long trainings never hold up emails and
/// imports.
fn task_runners(
    db: DatabaseConnection,
    settings: &Settings,
    marketplace: Arc<Marketplace>,
    executors: &Executors,
    public_url: &str,
) -> anyhow::Result<Vec<TaskRunner>> {
    let config = RunnerConfig {
        concurrency: settings.workers.concurrency,
        poll_interval: Duration::from_millis(settings.workers.poll_interval_ms),
        shutdown_grace: Duration::from_secs(settings.workers.shutdown_grace_secs),
        lease: chrono::Duration::seconds(settings.workers.lease_secs),
    };
    let domain = marketplace.domain();
    let general = TaskRunner::new(db.clone(), config.clone())
        .handle(EmailHandler(mailer(settings)?))
        .handle(ImportHandler(domain.clone()))
        .handle(CollectBlobsHandler(domain.clone()))
        .handle(TrainerCheckHandler(marketplace.clone()));
    let jobs_config = JobRunnerConfig {
        work_dir: settings.data_dir.join("jobs"),
        public_url: public_url.to_string(),
        log_limit_bytes: settings.executor.log_limit_bytes,
        tick: Duration::from_millis(settings.executor.relay_interval_ms),
    };
    let jobs = TaskRunner::new(
        db,
        RunnerConfig {
            concurrency: settings.executor.slots,
            ..config
        },
    )
    .handle(JobHandler::new(
        marketplace,
        executors.list.clone(),
        jobs_config,
    ));
    Ok(vec![general, jobs])
}

/// The task runners, billing's periodic work and the expiry of unused upload keys, until
/// `shutdown`.
fn spawn_runners(
    runners: Vec<TaskRunner>,
    (marketplace, billing): (Arc<Marketplace>, Arc<Billing>),
    settings: &Settings,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    let mut handles: Vec<_> = runners
        .into_iter()
        .map(|runner| tokio::spawn(runner.run(shutdown.clone())))
        .collect();
    handles.push(tokio::spawn(keynet_workers::upload_expiry::run(
        marketplace,
        shutdown.clone(),
    )));
    handles.push(tokio::spawn(keynet_workers::billing_sync::run(
        billing,
        Duration::from_secs(settings.billing.sync_interval_secs),
        shutdown.clone(),
    )));
    tokio::spawn(async move {
        for handle in handles {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "a task runner ended abnormally");
            }
        }
    })
}

pub async fn launch(settings: Settings) -> anyhow::Result<Platform> {
    let db = connect(&settings).await?;
    launch_on(settings, db).await
}

/// The domain with everything it is built from (keys, blob store, configuration, billing's
/// and the marketplace's hooks), the marketplace and billing's services, and the local blob store when it is the one configured.
struct Assembled {
    domain: Arc<Domain>,
    marketplace: Arc<Marketplace>,
    billing: Arc<Billing>,
    local_store: Option<Arc<LocalStore>>,
    /// Where browsers move blobs when that is not Keynet's own origin (the console's CSP).
    blob_origin: Option<String>,
    /// What API instances present to worker hosts' replicas.
    internal_secret: String,
}

async fn assemble_domain(
    settings: &Settings,
    db: DatabaseConnection,
    public_url: String,
    shutdown: &CancellationToken,
) -> anyhow::Result<Assembled> {
    let previous: Vec<Vec<u8>> = settings
        .auth
        .previous_jwt_secrets
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let jwt_secret = configured_or_generated_secret(
        settings,
        &settings.auth.jwt_secret,
        "jwt-secret",
        "auth.jwt_secret",
    )?;
    let keys = JwtKeys::new(
        &jwt_secret,
        &previous,
        &settings.auth.issuer,
        &settings.auth.audience,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let blobs = blob_store(settings, &public_url).await?;
    let work_dir = settings.data_dir.join("work");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let config = DomainConfig {
        public_url,
        work_dir,
        max_upload_bytes: settings.storage.max_upload_bytes,
        blob_gc_grace: chrono::Duration::seconds(settings.storage.gc_grace_secs),
        jwt_issuer: settings.auth.issuer.clone(),
        jwt_audience: settings.auth.audience.clone(),
        access_token_ttl: chrono::Duration::seconds(settings.auth.access_token_ttl_secs),
        account_emails_per_hour: settings.email.account_emails_per_hour,
        throttle: ThrottleConfig {
            slow_after: settings.auth.login_slow_after,
            max_failures: settings.auth.login_max_failures,
            window: chrono::Duration::seconds(settings.auth.login_window_secs),
            lockout: chrono::Duration::seconds(settings.auth.login_lockout_secs),
        },
        ..DomainConfig::default()
    };
    // Subscribers on any instance hear about writes made on any other.
    let events: Arc<dyn EventBus> = if db.get_database_backend() == DatabaseBackend::Postgres {
        PgEventBus::start(db.clone(), shutdown.clone())
            .await
            .context("cannot LISTEN for events on PostgreSQL")?
    } else {
        Arc::new(LocalEventBus::default())
    };
    let billing_config = Arc::new(settings.billing.clone());
    let domain = Arc::new(
        Domain::new(db, config, keys, events, blobs.store)
            .with_billing(Arc::new(BillingHook::new(billing_config.clone())))
            .with_trainer_catalog(Arc::new(Catalog)),
    );
    let marketplace = Arc::new(Marketplace::new(domain.clone()));
    let billing = Arc::new(Billing::new(domain.clone(), billing_config));
    Ok(Assembled {
        domain,
        marketplace,
        billing,
        local_store: blobs.local,
        blob_origin: blobs.browser_origin,
        internal_secret: crate::inference::internal_secret(&jwt_secret),
    })
}

/// Like [`launch`], on a connection the caller made (tests use it to observe the SQL).
pub async fn launch_on(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Platform> {
    let engine = serving_engine(&settings)?;
    migrate(&db).await?;
    let listener = std::net::TcpListener::bind(settings.bind_addr()?)
        .with_context(|| format!("cannot listen on {} (bind)", settings.bind))?;
    let addr = listener.local_addr()?;

    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let shutdown = CancellationToken::new();
    let Assembled {
        domain,
        marketplace,
        billing,
        local_store,
        blob_origin,
        internal_secret,
    } = assemble_domain(&settings, db.clone(), public_url.clone(), &shutdown).await?;
    let console = Console::new(&public_url, blob_origin.as_deref());
    let executors = executors(&settings).await?;
    // With workers, this process hosts replicas for itself (no address: only it calls them).
    let local_replicas = settings
        .run_workers
        .then(|| Arc::new(LocalReplicas::default()));
    let workers = if settings.run_workers {
        let runners = task_runners(
            db.clone(),
            &settings,
            marketplace.clone(),
            &executors,
            &public_url,
        )?;
        let mut handles = vec![spawn_runners(
            runners,
            (marketplace.clone(), billing.clone()),
            &settings,
            &shutdown,
        )];
        if let Some(replicas) = &local_replicas {
            // Other API instances on the same database reach these replicas on this port.
            let address = settings
                .serving
                .advertise_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            let host = ServingHost::new(
                domain.clone(),
                replicas.clone(),
                host_config(&settings, Some(address), engine),
            );
            handles.push(tokio::spawn(host.run(shutdown.clone())));
        }
        Some(join_all(handles))
    } else {
        None
    };

    let metrics = Arc::new(Metrics::new());
    let host_state = local_replicas.as_ref().map(|replicas| {
        web::Data::new(crate::inference::HostState {
            replicas: replicas.clone(),
            secret: internal_secret.clone(),
        })
    });
    let inference = Arc::new(Inference::new(
        domain.clone(),
        local_replicas,
        RemoteReplicas::new(internal_secret),
        Arc::new(EndpointMeter::new(db, Arc::new(settings.billing.clone()))),
        metrics.clone(),
        InferenceSettings {
            max_request_bytes: settings.serving.max_request_bytes,
            cold_start_wait: Duration::from_secs(settings.serving.cold_start_wait_secs),
            trust_forwarded_for: settings.trust_forwarded_for,
        },
    ));
    let metering = {
        let inference = inference.clone();
        let every = Duration::from_millis(settings.serving.meter_flush_ms.max(10));
        let shutdown = shutdown.clone();
        tokio::spawn(async move { inference.meter_until(every, shutdown).await })
    };
    let state = web::Data::new(AppState {
        domain: domain.clone(),
        marketplace: marketplace.clone(),
        billing: billing.clone(),
        schema: graphql::build(
            domain.clone(),
            marketplace.clone(),
            billing.clone(),
            &settings.api,
            metrics.clone(),
            executors.images.clone(),
        ),
        metrics,
        limits: settings.api.clone(),
        trust_forwarded_for: settings.trust_forwarded_for,
        local_store,
        inference,
        console,
    });
    let server = HttpServer::new(move || {
        // The last wrap is the outermost: every response, even a refused preflight, gets a
        // request id and the security headers.
        let mut app = App::new().app_data(state.clone());
        if let Some(host_state) = &host_state {
            app = app.app_data(host_state.clone());
        }
        app.wrap(browser::cors(&state.limits.cors_allowed_origins))
            .wrap(browser::security_headers())
            .wrap(actix_web::middleware::from_fn(observe))
            .configure(routes)
    })
    .workers(settings.http_workers)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok(Platform {
        addr,
        domain,
        marketplace,
        billing,
        server: handle,
        server_task: tokio::spawn(server),
        workers,
        metering,
        shutdown,
    })
}

impl Platform {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }

    /// Stops accepting connections, lets requests in flight finish, then drains the workers.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop(true).await;
        self.server_task.await??;
        self.shutdown.cancel();
        if let Some(workers) = self.workers {
            workers.await?;
        }
        self.metering.await?;
        Ok(())
    }
}

/// Runs only the background workers (`keynet worker`), until SIGINT or SIGTERM.
pub async fn run_workers(settings: Settings) -> anyhow::Result<()> {
    let host = launch_workers(settings).await?;
    shutdown_signal().await;
    host.stop().await
}

/// A worker host: the task runners, billing's periodic work and, with `serving.bind`, the
/// replicas it holds for API instances.
pub struct WorkerHost {
    handles: Vec<JoinHandle<()>>,
    replica_server: Option<ReplicaServer>,
    shutdown: CancellationToken,
}

struct ReplicaServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

pub async fn launch_workers(settings: Settings) -> anyhow::Result<WorkerHost> {
    let engine = serving_engine(&settings)?;
    let db = connect(&settings).await?;
    migrate(&db).await?;
    let shutdown = CancellationToken::new();
    let public_url = configured_public_url(&settings);
    let assembled = assemble_domain(&settings, db.clone(), public_url.clone(), &shutdown).await?;
    let executors = executors(&settings).await?;
    let runners = task_runners(
        db,
        &settings,
        assembled.marketplace.clone(),
        &executors,
        &public_url,
    )?;
    let periodic = (assembled.marketplace, assembled.billing);
    let mut handles = vec![spawn_runners(runners, periodic, &settings, &shutdown)];
    let replica_server = match &settings.serving.bind {
        Some(bind) => {
            let (host, server) = host_replicas(
                &settings,
                bind,
                assembled.domain.clone(),
                assembled.internal_secret,
                engine,
                &shutdown,
            )?;
            handles.push(host);
            Some(server)
        }
        None => None,
    };
    Ok(WorkerHost {
        handles,
        replica_server,
        shutdown,
    })
}

impl WorkerHost {
    /// Where API instances reach this host's replicas, when it serves them.
    pub fn replica_addr(&self) -> Option<SocketAddr> {
        self.replica_server.as_ref().map(|server| server.addr)
    }

    /// Lets requests in flight finish, gives the replicas' slots back, drains the runners.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(server) = self.replica_server {
            server.handle.stop(true).await;
            server.task.await??;
        }
        self.shutdown.cancel();
        join_all(self.handles).await?;
        Ok(())
    }

    /// Ends at once, as a killed process would: connections drop, nothing is given back
    /// (its replicas' slots are freed when their lease runs out).
    pub async fn kill(self) {
        for handle in &self.handles {
            handle.abort();
        }
        if let Some(server) = self.replica_server {
            server.handle.stop(false).await;
            server.task.abort();
        }
    }
}

/// A worker host's replicas, served to API instances on `bind`: the host's reconciliation
/// and the internal server.
fn host_replicas(
    settings: &Settings,
    bind: &str,
    domain: Arc<Domain>,
    secret: String,
    engine: Engine,
    shutdown: &CancellationToken,
) -> anyhow::Result<(JoinHandle<()>, ReplicaServer)> {
    let listener = std::net::TcpListener::bind(bind)
        .with_context(|| format!("cannot listen on {bind} (serving.bind)"))?;
    let addr = listener.local_addr()?;
    let address = settings.serving.advertise_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}",
            listener
                .local_addr()
                .map_or(bind.to_string(), |a| a.to_string())
        )
    });
    let replicas = Arc::new(LocalReplicas::default());
    let host = ServingHost::new(
        domain,
        replicas.clone(),
        host_config(settings, Some(address.clone()), engine),
    );
    let state = web::Data::new(crate::inference::HostState { replicas, secret });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(crate::inference::internal::routes)
    })
    .workers(settings.http_workers)
    .disable_signals()
    .listen(listener)?
    .run();
    tracing::info!(%address, "serving replicas to API instances");
    let handle = server.handle();
    Ok((
        tokio::spawn(host.run(shutdown.clone())),
        ReplicaServer {
            addr,
            handle,
            task: tokio::spawn(server),
        },
    ))
}

/// The engine replicas run models on, loaded before anything else starts: a library that
/// cannot be loaded stops the start with the reason.
fn serving_engine(settings: &Settings) -> anyhow::Result<Engine> {
    let engine = match &settings.serving.onnxruntime_library {
        None => Engine::Rten,
        Some(library) => Engine::onnxruntime(library).context("serving.onnxruntime_library")?,
    };
    tracing::info!(
        engine = engine.name(),
        "replicas run ONNX models on this engine"
    );
    Ok(engine)
}

fn host_config(settings: &Settings, address: Option<String>, engine: Engine) -> ServingHostConfig {
    ServingHostConfig {
        lease: Duration::from_secs(settings.serving.replica_lease_secs.max(1)),
        max_replicas: settings.serving.max_replicas_per_host,
        max_queued: settings.serving.max_queued_per_replica,
        address,
        engine,
        ..ServingHostConfig::default()
    }
}

/// One handle for several background tasks.
fn join_all(handles: Vec<JoinHandle<()>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for handle in handles {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "a background task ended abnormally");
            }
        }
    })
}

/// The marketplace (and the domain under it) alone on the configured database (migrated
/// first), for one-shot commands such as `keynet vulndb import` that need neither the
/// server nor the workers.
pub async fn open_marketplace(settings: &Settings) -> anyhow::Result<Arc<Marketplace>> {
    let db = connect(settings).await?;
    migrate(&db).await?;
    let public_url = configured_public_url(settings);
    let assembled = assemble_domain(settings, db, public_url, &CancellationToken::new()).await?;
    Ok(assembled.marketplace)
}

/// Where people reach the platform when no server of this process binds an address.
fn configured_public_url(settings: &Settings) -> String {
    settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("can listen for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
