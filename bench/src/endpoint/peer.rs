//! The peer behind HTTP: `onnxruntime_server.py` started with the bench's Python, on the
//! same model file, told how to prepare images by the metadata Keynet's runtime parsed.

use anyhow::{Context, Result};
use keynet_serving::{ExportMetadata, Layout, OutputKind, ResizeFilter};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Every field of the parsed metadata (defaults included), for the server to apply as is.
pub fn spec(metadata: &ExportMetadata) -> Value {
    json!({
        "input_name": metadata.input_name,
        "output_name": metadata.output_name,
        "channels": metadata.channels,
        "height": metadata.height,
        "width": metadata.width,
        "layout": match metadata.layout {
            Layout::Nchw => "NCHW",
            Layout::Nhwc => "NHWC",
        },
        "input_range": metadata.input_range,
        "mean": metadata.mean,
        "std": metadata.std,
        "resize": match metadata.resize {
            ResizeFilter::Nearest => "nearest",
            ResizeFilter::Bilinear => "bilinear",
            ResizeFilter::Bicubic => "bicubic",
            ResizeFilter::Lanczos3 => "lanczos3",
        },
        "output": match metadata.output {
            OutputKind::Probabilities => "probabilities",
            OutputKind::Logits => "logits",
        },
        "classes": metadata.classes,
    })
}

pub struct Server {
    child: Child,
    pub url: String,
    /// The versions it runs (onnxruntime, Pillow, Python).
    pub versions: Value,
}

impl Server {
    pub async fn start(python: &Path, model: &Path, spec: &Path, threads: usize) -> Result<Self> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/endpoint/onnxruntime_server.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .arg(model)
            .arg(spec)
            .arg(threads.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", python.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await?
            .with_context(|| {
                format!(
                    "the server ended before listening (are onnxruntime, numpy and pillow installed for {}?)",
                    python.display()
                )
            })?;
        let versions: Value = serde_json::from_str(&line)?;
        let port = versions["port"].as_u64().context("no port")?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}/infer"),
            versions,
        })
    }

    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}
