//! The image the scan bench reads: layers made from this machine's own trees, as a
//! Debian-based training image is layered (OS and tools, native libraries, Python, shared
//! data). Real files give the scanner what a real image gives it — ELF binaries, tens of
//! thousands of small files, a dpkg database, Python metadata — which no generator imitates
//! well. The trees are fixed (see [`LAYERS`]) and printed with their sizes, since their
//! contents differ from machine to machine.
//!
//! Each layer is written as Docker writes one: an uncompressed tar (GNU tar, names sorted)
//! compressed by `gzip -6` (Go's default level, which `docker build` uses).

use anyhow::{Context, Result, bail, ensure};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A layer and the trees of `/` it holds (relative, as in a layer tar).
pub struct LayerPlan {
    pub name: &'static str,
    pub trees: &'static [&'static str],
}

/// Missing trees are skipped (and the report says which are there), so the bench runs on
/// any Debian-like machine; `/usr/local` is left out, it holds this machine's own set-up.
pub const LAYERS: [LayerPlan; 4] = [
    LayerPlan {
        name: "os",
        // The files the inventory reads (os-release, passwd, the dpkg database) with the
        // programs: the base layer of a Debian image.
        trees: &[
            "etc/os-release",
            "etc/debian_version",
            "etc/passwd",
            "etc/group",
            "usr/lib/os-release",
            "var/lib/dpkg",
            "usr/bin",
            "usr/sbin",
        ],
    },
    LayerPlan {
        name: "libraries",
        trees: &["usr/lib/x86_64-linux-gnu"],
    },
    LayerPlan {
        name: "python",
        trees: &["usr/lib/python3", "usr/lib/python3.11"],
    },
    LayerPlan {
        name: "share",
        // Documentation, locales, data files: the many-small-files layer.
        trees: &["usr/share"],
    },
];

/// The gzip level of the layers.
pub const GZIP_LEVEL: &str = "-6";

/// The tar of a layer's trees is written with `-C` this folder.
const ROOT: &str = "/";

pub struct Layer {
    pub name: &'static str,
    /// The trees found on this machine (the others were skipped).
    pub trees: Vec<&'static str>,
    pub path: PathBuf,
    /// `sha256:…` of the compressed blob, as a registry names it.
    pub digest: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
}

/// Writes every layer of [`LAYERS`] into `dir`.
pub fn build(dir: &Path) -> Result<Vec<Layer>> {
    LAYERS
        .iter()
        .enumerate()
        .map(|(index, plan)| build_layer(dir, index, plan))
        .collect()
}

fn build_layer(dir: &Path, index: usize, plan: &LayerPlan) -> Result<Layer> {
    let trees: Vec<&'static str> = plan
        .trees
        .iter()
        .copied()
        .filter(|tree| Path::new(ROOT).join(tree).symlink_metadata().is_ok())
        .collect();
    ensure!(
        !trees.is_empty(),
        "none of the trees of layer {} exists: {:?}",
        plan.name,
        plan.trees
    );
    let path = dir.join(format!("{index}-{}.tar.gz", plan.name));
    let started = Instant::now();
    let uncompressed_bytes = tar_gzip(&trees, &path)?;
    let compressed_bytes = std::fs::metadata(&path)?.len();
    let digest = sha256(&path)?;
    eprintln!(
        "layer {} ({}): {:.0} MB tar, {:.0} MB gzip, written in {:.1} s",
        plan.name,
        trees.join(" "),
        uncompressed_bytes as f64 / 1e6,
        compressed_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(Layer {
        name: plan.name,
        trees,
        path,
        digest,
        compressed_bytes,
        uncompressed_bytes,
    })
}

/// `tar -c TREES | gzip > path`, the tar passing through this process to be counted.
fn tar_gzip(trees: &[&str], path: &Path) -> Result<u64> {
    let mut tar = Command::new("tar")
        .args(["-C", ROOT, "--sort=name", "-cf", "-"])
        .args(trees)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let output =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut gzip = Command::new("gzip")
        .args([GZIP_LEVEL, "-c"])
        .stdin(Stdio::piped())
        .stdout(output)
        .spawn()
        .context("cannot run gzip")?;
    let (mut from, mut to) = (
        tar.stdout.take().context("no tar output")?,
        gzip.stdin.take().context("no gzip input")?,
    );
    let copied = io::copy(&mut from, &mut to).context("piping tar into gzip")?;
    to.flush()?;
    // gzip finishes once its input is closed.
    drop(to);
    let mut tar_errors = String::new();
    if let Some(mut stderr) = tar.stderr.take() {
        stderr.read_to_string(&mut tar_errors)?;
    }
    let tar_status = tar.wait()?;
    let gzip_status = gzip.wait()?;
    ensure!(gzip_status.success(), "gzip failed ({gzip_status})");
    match tar_status.code() {
        Some(0) => {}
        // GNU tar's "some files differ": a file changed while it was read (a log, the
        // dpkg database during an install). The archive is still complete and valid.
        Some(1) => eprintln!("  tar: {}", tar_errors.trim()),
        _ => bail!("tar failed ({tar_status}): {}", tar_errors.trim()),
    }
    Ok(copied)
}

fn sha256(path: &Path) -> Result<String> {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("cannot run sha256sum")?;
    ensure!(output.status.success(), "sha256sum failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let hex = text
        .split_whitespace()
        .next()
        .context("no sha256sum output")?;
    Ok(format!("sha256:{hex}"))
}

/// Reads the file once so both tools find it in the page cache: neither pays for the disk.
pub fn warm_cache(path: &Path) -> Result<()> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    io::copy(&mut file, &mut io::sink())?;
    Ok(())
}
