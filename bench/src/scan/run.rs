//! The rounds: in each, every layer is read by the Keynet scanner and by `gzip -dc | tar -t`
//! (the order of the two swapped every round, so a busy moment of the machine hits both),
//! then the layers' scans are put together as a real scan does: merged into one image and
//! rendered as CycloneDX and SARIF.

use crate::image::{Layer, warm_cache};
use anyhow::{Context, Result, ensure};
use keynet_scan::report::{cyclonedx_json, sarif_json};
use keynet_scan::{ImageConfig, ImageScan, LayerScan, Limits, merge, scan_layer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a registry announces a gzip layer.
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The floor: decompress and walk every tar header, keeping nothing.
const FLOOR_SCRIPT: &str = "gzip -dc \"$1\" | tar -t > /dev/null";

pub struct Plan {
    pub rounds: usize,
}

/// One layer's times, one per round.
pub struct LayerTimes {
    pub keynet: Vec<Duration>,
    pub floor: Vec<Duration>,
    /// Entries of the layer's index (whiteouts apart), from the scan.
    pub entries: usize,
}

pub struct Figures {
    pub layers: Vec<LayerTimes>,
    /// Merging the layers' scans and rendering both reports, once per round.
    pub assemble: Vec<Duration>,
    /// What the last round's scan found, to show the scanner did its whole job.
    pub image: ImageScan,
    pub cyclonedx_bytes: usize,
    pub sarif_bytes: usize,
}

pub fn run(plan: &Plan, layers: &[Layer]) -> Result<Figures> {
    for layer in layers {
        warm_cache(&layer.path)?;
    }
    let mut times: Vec<LayerTimes> = layers
        .iter()
        .map(|_| LayerTimes {
            keynet: Vec::new(),
            floor: Vec::new(),
            entries: 0,
        })
        .collect();
    let mut assemble = Vec::new();
    let mut last = None;
    for round in 1..=plan.rounds {
        let mut scans = Vec::new();
        for (layer, times) in layers.iter().zip(&mut times) {
            let scanner_first = round % 2 == 1;
            if !scanner_first {
                times.floor.push(floor(&layer.path)?);
            }
            let (took, scan) = keynet(&layer.path)?;
            times.keynet.push(took);
            if scanner_first {
                times.floor.push(floor(&layer.path)?);
            }
            times.entries = scan.entries.len();
            eprintln!(
                "round {round}/{}: {} Keynet {:.2} s, gzip | tar {:.2} s",
                plan.rounds,
                layer.name,
                took.as_secs_f64(),
                times.floor[round - 1].as_secs_f64()
            );
            scans.push((layer.digest.clone(), scan));
        }
        let started = Instant::now();
        let assembled = assemble_image(&scans)?;
        assemble.push(started.elapsed());
        last = Some(assembled);
    }
    let (image, cyclonedx_bytes, sarif_bytes) = last.context("no round ran")?;
    Ok(Figures {
        layers: times,
        assemble,
        image,
        cyclonedx_bytes,
        sarif_bytes,
    })
}

/// Reads the layer from its file as the platform reads a stored blob.
fn keynet(path: &Path) -> Result<(Duration, LayerScan)> {
    let started = Instant::now();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let scan = scan_layer(file, LAYER_MEDIA_TYPE, &Limits::default())
        .with_context(|| format!("the scanner refused {}", path.display()))?;
    Ok((started.elapsed(), scan))
}

fn floor(path: &Path) -> Result<Duration> {
    let started = Instant::now();
    let status = Command::new("sh")
        .args(["-c", FLOOR_SCRIPT, "sh"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .context("cannot run sh")?;
    let took = started.elapsed();
    ensure!(
        status.success(),
        "`{FLOOR_SCRIPT}` failed on {} ({status})",
        path.display()
    );
    Ok(took)
}

/// The image as a whole (no `USER` in its config, as many training images) and its two
/// reports; their sizes.
fn assemble_image(scans: &[(String, LayerScan)]) -> Result<(ImageScan, usize, usize)> {
    let image = merge(scans, &ImageConfig::default());
    // The SBOM's subject is the manifest digest; this image has no manifest, so its top
    // layer's digest stands in (the SBOM's size and cost do not depend on it).
    let subject = scans.last().map_or("", |(digest, _)| digest.as_str());
    let cyclonedx = cyclonedx_json(&image, "bench/host-image", subject)
        .context("rendering the CycloneDX SBOM")?;
    let sarif = sarif_json(&image.findings).context("rendering the SARIF report")?;
    Ok((image, cyclonedx.len(), sarif.len()))
}
