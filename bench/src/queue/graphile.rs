//! The peer: graphile-worker, measured by `bench/graphile/bench.mjs` in a Node child process
//! with the same parameters, on a database of its own on the same server.

use crate::run::{Latency, Plan, Throughput};
use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub struct Peer {
    pub node: String,
    pub script: PathBuf,
    /// `node --version` and the installed graphile-worker's version.
    pub node_version: String,
    pub version: String,
}

impl Peer {
    /// Checks that the script and its dependencies are installed; the hint says how.
    pub fn locate(node: &str, dir: &Path) -> Result<Self> {
        let script = dir.join("bench.mjs");
        let package = dir.join("node_modules/graphile-worker/package.json");
        if !package.exists() {
            bail!(
                "graphile-worker is not installed in {}: run `npm ci --prefix bench/graphile` \
                 first (or pass --no-peer to measure Keynet alone)",
                dir.display()
            );
        }
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(&package)
                .with_context(|| format!("reading {}", package.display()))?,
        )?;
        let output = std::process::Command::new(node)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run `{node}` (Node.js, for graphile-worker)"))?;
        ensure!(output.status.success(), "`{node} --version` failed");
        Ok(Self {
            node: node.to_string(),
            script,
            node_version: String::from_utf8_lossy(&output.stdout).trim().to_string(),
            version: manifest["version"].as_str().unwrap_or("?").to_string(),
        })
    }

    async fn measure(&self, database_url: &str, plan: &Plan, what: &str) -> Result<Value> {
        let output = tokio::process::Command::new(&self.node)
            .arg(&self.script)
            .args(["--database-url", database_url])
            .args(["--tasks", &plan.tasks.to_string()])
            .args(["--samples", &plan.samples.to_string()])
            .args(["--warmup-samples", &plan.warmup_samples.to_string()])
            .args(["--spacing-ms", &plan.spacing.as_millis().to_string()])
            .args(["--concurrency", &plan.concurrency.to_string()])
            .args(["--measure", what, "--json"])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .await
            .with_context(|| format!("cannot run {} {}", self.node, self.script.display()))?;
        ensure!(
            output.status.success(),
            "the graphile-worker script failed ({})",
            output.status
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().context("no output from the script")?;
        serde_json::from_str(line).with_context(|| format!("unreadable result: {line}"))
    }

    pub async fn throughput(&self, database_url: &str, plan: &Plan) -> Result<Throughput> {
        let result = self.measure(database_url, plan, "throughput").await?;
        let measured = &result["throughput"];
        Ok(Throughput {
            tasks: measured["tasks"].as_u64().context("no task count")? as usize,
            seconds: measured["seconds"].as_f64().context("no seconds")?,
        })
    }

    pub async fn latency(&self, database_url: &str, plan: &Plan) -> Result<Latency> {
        let result = self.measure(database_url, plan, "latency").await?;
        let measured = &result["latency"];
        let numbers = |name: &str| {
            measured[name]
                .as_array()
                .with_context(|| format!("no {name}"))?
                .iter()
                .map(|v| v.as_f64().context("a sample is not a number"))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Latency {
            samples_ms: numbers("samples_ms")?,
            commit_ms: numbers("commit_ms")?,
            heap_bytes: None,
        })
    }
}
