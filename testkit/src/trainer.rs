//! The reference trainer and the probe, for job tests: as host programs (for the process
//! executor) and as a `FROM scratch` image of static builds (for the Docker executor).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio::sync::OnceCell;

pub const TRAINER: &str = "keynet-reference-trainer";
pub const PROBE: &str = "keynet-probe";
pub const TRAINER_IMAGE_TAG: &str = "keynet-reference-trainer:test";
pub const PROBE_IMAGE_TAG: &str = "keynet-probe:test";
/// The only target this toolchain has; static glibc builds run in a scratch image.
const STATIC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// The workspace's target folder: `CARGO_TARGET_DIR`, else the one this test binary is in
/// (`<target>/debug/deps/<test>`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn cargo_build(extra: &[&str], static_link: bool) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "-p",
            "keynet-reference-trainer",
            "--bins",
        ])
        .args(extra)
        .env("CARGO_TARGET_DIR", target_dir());
    if static_link {
        // With an explicit --target these flags reach only the trainer, not build scripts.
        command.env(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
            "-C target-feature=+crt-static",
        );
    }
    let status = command
        .status()
        .context("running cargo to build the reference trainer")?;
    if !status.success() {
        bail!("building the reference trainer failed ({status})");
    }
    Ok(())
}

/// A host build of `name` (`TRAINER` or `PROBE`), built if the workspace build has none.
pub fn host_binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = target_dir().join("debug").join(name);
    if !path.exists() {
        cargo_build(&[], false)?;
    }
    Ok(path)
}

/// Copies the host build of `name` into `dir` (a folder the process executor allows) and
/// returns the `file://` reference to register.
pub fn install_program(name: &str, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(name);
    std::fs::copy(host_binary(name)?, &target).with_context(|| format!("copying {name}"))?;
    Ok(format!("file://{}", target.display()))
}

/// Static builds of both programs.
fn static_binaries() -> anyhow::Result<(PathBuf, PathBuf)> {
    cargo_build(&["--target", STATIC_TARGET], true)?;
    let dir = target_dir().join(STATIC_TARGET).join("debug");
    Ok((dir.join(TRAINER), dir.join(PROBE)))
}

/// The reference trainer as an image (entrypoint `/trainer`), built once per test process.
pub async fn trainer_image() -> anyhow::Result<String> {
    static IMAGE: OnceCell<String> = OnceCell::const_new();
    IMAGE
        .get_or_try_init(|| async {
            let (trainer, _) = tokio::task::spawn_blocking(static_binaries).await??;
            crate::docker::build_scratch_image(
                TRAINER_IMAGE_TAG,
                &[(trainer, "/trainer")],
                &["/trainer"],
            )
            .await
        })
        .await
        .cloned()
}

/// The probe as an image (entrypoint `/probe`; the mode comes as `PROBE_MODE`).
pub async fn probe_image() -> anyhow::Result<String> {
    static IMAGE: OnceCell<String> = OnceCell::const_new();
    IMAGE
        .get_or_try_init(|| async {
            let (_, probe) = tokio::task::spawn_blocking(static_binaries).await??;
            crate::docker::build_scratch_image(PROBE_IMAGE_TAG, &[(probe, "/probe")], &["/probe"])
                .await
        })
        .await
        .cloned()
}
