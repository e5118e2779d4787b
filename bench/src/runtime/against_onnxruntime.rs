//! What both comparisons with onnxruntime take on the command line (`runtime_bench`,
//! `endpoint_bench`): how long to measure, which Python runs onnxruntime, and its threads.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct AgainstOnnxruntime {
    /// Seconds per measured cell.
    #[arg(long, default_value_t = 8.0)]
    pub seconds: f64,
    /// Python with onnxruntime, numpy and pillow (`.ci/run`'s clients venv, plus
    /// `pip install 'onnxruntime==1.32.*' pillow`).
    #[arg(long, default_value = "/var/tmp/keynet-clients-venv/bin/python")]
    pub python: PathBuf,
    /// onnxruntime's intra-op threads wherever it runs; 0 is its default, one per core (as
    /// Keynet's replicas get here).
    #[arg(long, default_value_t = 0)]
    pub peer_threads: usize,
}
