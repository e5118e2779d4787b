//! The platform's settings. The binary layers them (defaults → `keynet.toml` → `KEYNET_*`
//! environment → flags); `validate` names the key of a bad value.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Holds the SQLite database, blobs, the email outbox and generated secrets.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    /// Connections in the database pool of this process.
    pub database_pool_size: u32,
    /// HTTP worker threads; default: one per CPU.
    pub http_workers: usize,
    /// How people reach this server (links in emails); default: `http://` + bind address.
    pub public_url: Option<String>,
    /// Take the client address from `Forwarded` / `X-Forwarded-For` (only behind a proxy
    /// that sets them: clients can forge them otherwise). It keys the sign-in throttle and
    /// is recorded in the audit log.
    pub trust_forwarded_for: bool,
    /// Run the background workers in this process (`keynet serve --no-workers` turns it off).
    pub run_workers: bool,
    pub log_format: LogFormat,
    pub auth: AuthSettings,
    pub api: ApiLimits,
    pub email: EmailSettings,
    pub workers: WorkerSettings,
    pub storage: StorageSettings,
    pub executor: ExecutorSettings,
    pub billing: keynet_billing::BillingConfig,
    pub serving: ServingSettings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// Files under `data_dir/blobs`, signed URLs served by Keynet.
    Local,
    S3,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Signs the local store's URLs (≥ 32 bytes). Default: generated once into `data_dir`.
    pub signing_key: Option<String>,
    pub signing_key_file: Option<PathBuf>,
    pub s3: keynet_storage::S3Settings,
    pub s3_secret_access_key_file: Option<PathBuf>,
    /// Largest dataset archive accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Unreferenced files are removed only when unused for this long (an import running
    /// longer than this could otherwise lose files it reuses).
    pub gc_grace_secs: i64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            signing_key: None,
            signing_key_file: None,
            s3: keynet_storage::S3Settings::default(),
            s3_secret_access_key_file: None,
            max_upload_bytes: 10 << 30,
            gc_grace_secs: 3600,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Signs access tokens (≥ 32 bytes). Default: generated once into `data_dir`.
    pub jwt_secret: Option<String>,
    pub jwt_secret_file: Option<PathBuf>,
    /// Earlier secrets that still verify tokens during a rotation.
    pub previous_jwt_secrets: Vec<String>,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    /// Failed sign-ins (per account and per client address) before answers slow down.
    pub login_slow_after: i32,
    /// Failed sign-ins within `login_window_secs` before the account or address is locked.
    pub login_max_failures: i32,
    pub login_window_secs: i64,
    pub login_lockout_secs: i64,
}

/// The `api` section: what one request may ask, and which browser origins may ask at all.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiLimits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    /// Origins (`https://app.example.com`) whose pages may call the API from a browser
    /// (CORS). Empty: only pages Keynet serves itself.
    pub cors_allowed_origins: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    pub from: String,
    /// `smtp://host:port`, `smtp://user:pass@host?tls=required` or `smtps://…`. Without it,
    /// emails are written to `data_dir/outbox`.
    pub smtp_url: Option<String>,
    pub smtp_url_file: Option<PathBuf>,
    /// Password-reset and verification emails one address may get in any hour.
    pub account_emails_per_hour: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub shutdown_grace_secs: u64,
    /// How long a claimed task stays a worker's without a heartbeat; a crashed worker's
    /// task is taken up again after this.
    pub lease_secs: i64,
}

/// Deployments: the endpoint's limits, and the replicas a worker host holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ServingSettings {
    /// The largest image (or Open Inference Protocol request) an endpoint takes.
    pub max_request_bytes: usize,
    /// How long a request waits for a deployment's first replica (a cold start after scale
    /// to zero) before it is answered 503 with `Retry-After`.
    pub cold_start_wait_secs: u64,
    /// Replicas one worker host holds at most.
    pub max_replicas_per_host: usize,
    /// Requests waiting in one replica's queue at most; beyond, 503.
    pub max_queued_per_replica: usize,
    /// A host that has not beaten for this long is gone: its replicas' slots go to others.
    pub replica_lease_secs: u64,
    /// How often an API instance writes the endpoint requests it answered to the ledger.
    pub meter_flush_ms: u64,
    /// A worker host (`keynet worker`) serves its replicas to API instances on this address;
    /// unset, it holds no replicas (only `keynet serve` with workers does, for itself).
    pub bind: Option<String>,
    /// The address API instances reach `bind` at (default: `http://<bind>`).
    pub advertise_url: Option<String>,
    /// ONNX Runtime's shared library (`libonnxruntime.so`, 1.22 or newer, e.g. from the
    /// `onnxruntime` wheel): replicas run models on it instead of the built-in RTen.
    pub onnxruntime_library: Option<PathBuf>,
}

impl Default for ServingSettings {
    fn default() -> Self {
        Self {
            max_request_bytes: 20 << 20,
            cold_start_wait_secs: 30,
            max_replicas_per_host: 8,
            max_queued_per_replica: 256,
            replica_lease_secs: 15,
            meter_flush_ms: 1000,
            bind: None,
            advertise_url: None,
            onnxruntime_library: None,
        }
    }
}

/// Whether jobs run on the Docker engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DockerMode {
    /// When an engine answers at start (the embedded default).
    Auto,
    /// Required: no engine is a start-up error.
    On,
    Off,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecutorSettings {
    pub docker: DockerMode,
    /// Folders whose programs the process executor may run (registered as `file:///path`);
    /// empty: `<data_dir>/trainers`.
    pub process_dirs: Vec<PathBuf>,
    /// Jobs one worker runs at once.
    pub slots: usize,
    /// Output (stdout + stderr) kept per job attempt.
    pub log_limit_bytes: usize,
    /// How often a running job's events file is read.
    pub relay_interval_ms: u64,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            docker: DockerMode::Auto,
            process_dirs: Vec::new(),
            slots: 2,
            log_limit_bytes: 8 << 20,
            relay_interval_ms: 250,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("keynet-data"),
            database_url: None,
            database_url_file: None,
            database_pool_size: 16,
            http_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            public_url: None,
            trust_forwarded_for: false,
            run_workers: true,
            log_format: LogFormat::Text,
            auth: AuthSettings::default(),
            api: ApiLimits::default(),
            email: EmailSettings::default(),
            workers: WorkerSettings::default(),
            storage: StorageSettings::default(),
            executor: ExecutorSettings::default(),
            billing: keynet_billing::BillingConfig::default(),
            serving: ServingSettings::default(),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_secret_file: None,
            previous_jwt_secrets: Vec::new(),
            issuer: "keynet".into(),
            audience: "keynet-api".into(),
            access_token_ttl_secs: 15 * 60,
            login_slow_after: 3,
            login_max_failures: 10,
            login_window_secs: 15 * 60,
            login_lockout_secs: 15 * 60,
        }
    }
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_depth: 15,
            max_complexity: 5_000,
            max_aliases: 15,
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            from: "Keynet <noreply@keynet.local>".into(),
            smtp_url: None,
            smtp_url_file: None,
            account_emails_per_hour: 5,
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            poll_interval_ms: 250,
            shutdown_grace_secs: 30,
            lease_secs: keynet_workers::runner::DEFAULT_LEASE_SECS,
        }
    }
}

/// A setting that was refused, with the key that names it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{key}`: {reason}")]
pub struct SettingError {
    pub key: &'static str,
    pub reason: String,
}

fn refuse(key: &'static str, reason: impl Into<String>) -> SettingError {
    SettingError {
        key,
        reason: reason.into(),
    }
}

impl Settings {
    /// Reads `*_file` secrets, then checks every value.
    pub fn resolve(mut self) -> Result<Self, SettingError> {
        read_secret(
            &mut self.database_url,
            &self.database_url_file,
            "database_url_file",
        )?;
        read_secret(
            &mut self.auth.jwt_secret,
            &self.auth.jwt_secret_file,
            "auth.jwt_secret_file",
        )?;
        read_secret(
            &mut self.email.smtp_url,
            &self.email.smtp_url_file,
            "email.smtp_url_file",
        )?;
        read_secret(
            &mut self.storage.signing_key,
            &self.storage.signing_key_file,
            "storage.signing_key_file",
        )?;
        let mut s3_secret = None;
        read_secret(
            &mut s3_secret,
            &self.storage.s3_secret_access_key_file,
            "storage.s3_secret_access_key_file",
        )?;
        if let Some(secret) = s3_secret {
            self.storage.s3.secret_access_key = secret;
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), SettingError> {
        self.bind_addr()?;
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(refuse(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(refuse("public_url", "must start with http:// or https://"));
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.len() < 32
        {
            return Err(refuse("auth.jwt_secret", "needs at least 32 bytes"));
        }
        if self.storage.backend == StorageBackend::S3
            && let Err(keynet_storage::Error::Setting { key, reason }) = self.storage.s3.check()
        {
            return Err(SettingError {
                key: s3_key(key),
                reason,
            });
        }
        if let Some(key) = &self.storage.signing_key
            && key.len() < keynet_storage::local::MIN_SIGNING_KEY_BYTES
        {
            return Err(refuse("storage.signing_key", "needs at least 32 bytes"));
        }
        if self.storage.gc_grace_secs < 0 {
            return Err(refuse("storage.gc_grace_secs", "must be 0 or more"));
        }
        if self.storage.max_upload_bytes == 0 {
            return Err(refuse("storage.max_upload_bytes", "must be greater than 0"));
        }
        self.billing
            .validate()
            .map_err(|(key, reason)| refuse(key, reason))?;
        keynet_workers::Mailer::check_settings(self.email.smtp_url.as_deref(), &self.email.from)
            .map_err(|(key, reason)| refuse(key, reason))?;
        if !(60..=3600).contains(&self.auth.access_token_ttl_secs) {
            return Err(refuse(
                "auth.access_token_ttl_secs",
                "must be between 60 and 3600",
            ));
        }
        if !(1..=self.auth.login_max_failures).contains(&self.auth.login_slow_after) {
            return Err(refuse(
                "auth.login_slow_after",
                "must be between 1 and auth.login_max_failures",
            ));
        }
        for (key, value) in [
            ("auth.login_window_secs", self.auth.login_window_secs),
            ("auth.login_lockout_secs", self.auth.login_lockout_secs),
        ] {
            if value <= 0 {
                return Err(refuse(key, "must be greater than 0"));
            }
        }
        for (key, value) in [
            ("api.max_body_bytes", self.api.max_body_bytes),
            ("api.max_depth", self.api.max_depth),
            ("api.max_complexity", self.api.max_complexity),
            ("api.max_aliases", self.api.max_aliases),
            ("workers.concurrency", self.workers.concurrency),
            (
                "email.account_emails_per_hour",
                self.email.account_emails_per_hour as usize,
            ),
            ("executor.slots", self.executor.slots),
            ("executor.log_limit_bytes", self.executor.log_limit_bytes),
            (
                "executor.relay_interval_ms",
                self.executor.relay_interval_ms as usize,
            ),
            ("database_pool_size", self.database_pool_size as usize),
            ("http_workers", self.http_workers),
        ] {
            if value == 0 {
                return Err(refuse(key, "must be greater than 0"));
            }
        }
        if !(3..=3600).contains(&self.workers.lease_secs) {
            return Err(refuse("workers.lease_secs", "must be between 3 and 3600"));
        }
        for origin in &self.api.cors_allowed_origins {
            check_origin(origin).map_err(|reason| {
                refuse(
                    "api.cors_allowed_origins",
                    format!("`{origin}` is not an origin: {reason}"),
                )
            })?;
        }
        Ok(())
    }

    /// The folders the process executor may run programs from.
    pub fn process_dirs(&self) -> Vec<PathBuf> {
        if self.executor.process_dirs.is_empty() {
            vec![self.data_dir.join("trainers")]
        } else {
            self.executor.process_dirs.clone()
        }
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, SettingError> {
        self.bind
            .parse()
            .map_err(|e| refuse("bind", format!("`{}` is not host:port ({e})", self.bind)))
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("keynet.db").display()
            )
        })
    }
}

fn read_secret(
    value: &mut Option<String>,
    file: &Option<PathBuf>,
    key: &'static str,
) -> Result<(), SettingError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| refuse(key, format!("cannot read {}: {e}", path.display())))?;
        *value = Some(text.trim().to_string());
    }
    Ok(())
}

/// An origin exactly as a browser sends it in `Origin`: `http(s)://host[:port]` in lower case,
/// without the default port (anything else would never match).
fn check_origin(origin: &str) -> Result<(), &'static str> {
    let uri: actix_web::http::Uri = origin
        .parse()
        .map_err(|_| "write it as https://host or https://host:port")?;
    let (Some(scheme @ ("http" | "https")), Some(authority)) = (uri.scheme_str(), uri.authority())
    else {
        return Err("write it as https://host or https://host:port");
    };
    if origin != format!("{scheme}://{authority}") || authority.as_str().contains('@') {
        return Err("only scheme, host and port: no path, query, user or trailing slash");
    }
    if authority.as_str().chars().any(|c| c.is_ascii_uppercase()) {
        return Err("write it in lower case, as browsers send it");
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    if authority.port_u16() == Some(default_port) {
        return Err("leave out the default port, as browsers do");
    }
    Ok(())
}

/// The full name of an S3 setting, as the configuration file spells it.
fn s3_key(field: &str) -> &'static str {
    match field {
        "bucket" => "storage.s3.bucket",
        "region" => "storage.s3.region",
        "endpoint" => "storage.s3.endpoint",
        "access_key_id" => "storage.s3.access_key_id",
        "secret_access_key" => "storage.s3.secret_access_key",
        _ => "storage.s3",
    }
}
