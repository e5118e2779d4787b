//! The field's own clients from PyPI (tritonclient), in the venv `.ci/run` prepares, and the
//! ONNX Runtime library its `onnxruntime` wheel brings.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python with `tritonclient[http]` (KEYNET_CLIENTS_PYTHON, else `.ci/run`'s venv).
pub fn clients_python() -> PathBuf {
    let python = std::env::var_os("KEYNET_CLIENTS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/keynet-clients-venv/bin/python"));
    assert!(
        python.is_file(),
        "the protocol tests need Python with tritonclient and onnxruntime: run .ci/run once, or \
         `python3 -m venv /var/tmp/keynet-clients-venv && /var/tmp/keynet-clients-venv/bin/pip \
         install 'tritonclient[http]==2.73.*' 'onnxruntime==1.32.*'` (or point \
         KEYNET_CLIENTS_PYTHON at one)"
    );
    python
}

/// Runs `script` with `args` in `dir` on the clients' Python; its standard output. A
/// failing script fails the test with its standard error.
pub fn python(script: &str, args: &[&str], dir: &Path) -> String {
    run_python(&clients_python(), script, args, dir)
}

/// The ONNX Runtime shared library of the `onnxruntime` wheel of `python` (the clients'
/// venv unless a bench names another): `…/onnxruntime/capi/libonnxruntime.so.<version>`.
pub fn onnxruntime_library(python: &Path) -> PathBuf {
    let found = run_python(
        python,
        "import glob, os, onnxruntime; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[-1])",
        &[],
        Path::new("/"),
    );
    PathBuf::from(found.trim())
}

fn run_python(python: &Path, script: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        python.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
