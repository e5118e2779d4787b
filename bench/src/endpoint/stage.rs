//! The stage: the platform in process (SQLite and the local blob store in a temporary
//! folder, workers on, jobs run by the process executor), an org whose reference model was
//! trained and exported through the API, that export's artifact replaced by the
//! ResNet-18-shaped model, and deployments of it with their keys.

use crate::load::Endpoint;
use anyhow::{Context, Result, bail};
use keynet_api::platform::{Platform, launch};
use keynet_api::settings::{DockerMode, Settings};
use keynet_testkit::Gql;
use keynet_testkit::trainer::{TRAINER, install_program};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const JWT_SECRET: &str = "keynet-bench-only-secret-0123456789abcdef";
/// The longest access-token life the platform allows: the owner's token outlives the run.
const TOKEN_TTL_SECS: i64 = 3600;
/// The longest the bench waits for a job or a deployment.
const WAIT: Duration = Duration::from_secs(300);

fn settings(data_dir: &Path, onnxruntime_library: Option<PathBuf>) -> Result<Settings> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.auth.access_token_ttl_secs = TOKEN_TTL_SECS;
    settings.executor.docker = DockerMode::Off;
    settings.workers.poll_interval_ms = 100;
    // The load is thousands of requests a minute; the free plan allows 60.
    settings.billing.plans.free.inference_requests_per_minute = None;
    // Closed-loop clients never queue more than their number; 503s would end a cell.
    settings.serving.max_queued_per_replica = 1024;
    settings.serving.onnxruntime_library = onnxruntime_library;
    settings.resolve().context("the bench settings are refused")
}

pub struct Stage {
    pub platform: Platform,
    pub gql: Gql,
    pub token: String,
    pub project: String,
    /// The export job whose artifact the deployments serve.
    pub export: String,
}

/// Launches the platform (its replicas on ONNX Runtime from `onnxruntime_library`, else on
/// RTen), trains the reference trainer (seconds) and exports its last checkpoint as ONNX.
pub async fn prepare(data_dir: &Path, onnxruntime_library: Option<PathBuf>) -> Result<Stage> {
    let platform = launch(settings(data_dir, onnxruntime_library)?)
        .await
        .context("cannot launch the platform")?;
    let gql = Gql::new(platform.url());
    let program = install_program(TRAINER, &data_dir.join("trainers"))?;
    let setup = gql.job_setup(TRAINER, &program).await;
    let training = gql.trained(&setup).await;
    let export = gql.exported(&setup.token, &training).await;
    Ok(Stage {
        platform,
        gql,
        token: setup.token,
        project: setup.project,
        export,
    })
}

impl Stage {
    /// A benchmark harness seeding a model, not a platform feature: the reference trainer's
    /// export is a tiny softmax model, so its artifact (blob and row) is replaced by the
    /// ResNet-18-shaped model and its metadata before anything is deployed from it. The
    /// deployments then load it exactly as they load any export.
    pub async fn seed_model(&self, onnx: &Path, metadata: &Value) -> Result<()> {
        keynet_testkit::models::seed_export(&self.platform.domain, &self.export, onnx, metadata)
            .await
    }

    /// Deploys the export with `replicas` replicas (always up) of `cpus` CPUs each and
    /// batches of at most `max_batch_size` waiting at most 5 ms; waits until it is READY and
    /// makes a key.
    /// Returns the endpoint, called with the key.
    pub async fn deploy(
        &self,
        name: &str,
        replicas: usize,
        max_batch_size: usize,
        cpus: usize,
    ) -> Result<Endpoint> {
        let created = self
            .gql
            .data(
                Some(&self.token),
                "mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { id } }",
                json!({"i": {
                    "projectId": self.project,
                    "name": name,
                    "runtime": "ONNX",
                    "source": {"exportJobId": self.export},
                    "settings": {
                        "minReplicas": replicas,
                        "maxReplicas": replicas,
                        "maxBatchSize": max_batch_size,
                        "maxQueueDelayMs": 5,
                        "resources": {"cpus": cpus},
                    },
                }}),
            )
            .await;
        let id = created["createDeployment"]["id"]
            .as_str()
            .context("no deployment id")?
            .to_string();
        let started = Instant::now();
        loop {
            let found = self
                .gql
                .data(
                    Some(&self.token),
                    "query($d: ID!) { deployment(id: $d) { status statusReason replicas { status } } }",
                    json!({"d": id}),
                )
                .await["deployment"]
                .clone();
            let ready = found["replicas"].as_array().map_or(0, |all| {
                all.iter().filter(|r| r["status"] == "READY").count()
            });
            match found["status"].as_str() {
                Some("READY") if ready >= replicas => break,
                Some("FAILED") => bail!("deployment {name} failed: {}", found["statusReason"]),
                _ if started.elapsed() > WAIT => bail!("deployment {name} is not ready: {found}"),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let secret = self
            .gql
            .data(
                Some(&self.token),
                "mutation($i: CreateDeploymentKeyInput!) { createDeploymentKey(input: $i) { secret } }",
                json!({"i": {"deploymentId": id, "name": "bench"}}),
            )
            .await["createDeploymentKey"]["secret"]
            .as_str()
            .context("no key secret")?
            .to_string();
        Ok(Endpoint {
            url: format!("{}/v1/infer/{id}", self.platform.url()),
            key: Some(secret),
        })
    }
}
