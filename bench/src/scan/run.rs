//! The rounds: in each, every layer is read by the Keynet scanner, by the scanner's own
//! decompressor alone and by `gzip -dc | tar -t` (their order turning every round, so a
//! busy moment of the machine does not always hit the same one), then the layers' scans
//! are put together as a real scan does: merged into one image and rendered as CycloneDX
//! and SARIF.

use crate::image::{Layer, warm_cache};
use anyhow::{Context, Result, ensure};
use flate2::bufread::MultiGzDecoder;
use keynet_scan::report::{cyclonedx_json, sarif_json};
use keynet_scan::{ImageConfig, ImageScan, LayerScan, Limits, merge, scan_layer};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a registry announces a gzip layer.
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The floor: decompress and walk every tar header, keeping nothing.
const FLOOR_SCRIPT: &str = "gzip -dc \"$1\" | tar -t > /dev/null";
/// The scanner's own buffers (`keynet_scan`'s `layers::stream`), so that inflating alone
/// differs from the scan only by what the scan does with the bytes.
const COMPRESSED_BUFFER: usize = 64 * 1024;
const UNCOMPRESSED_BUFFER: usize = 256 * 1024;

pub struct Plan {
    pub rounds: usize,
}

/// One layer's times, one per round for each tool.
pub struct LayerTimes {
    pub keynet: Vec<Duration>,
    pub inflate: Vec<Duration>,
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

#[derive(Clone, Copy, Debug)]
enum Tool {
    Keynet,
    Inflate,
    Floor,
}

const TOOLS: [Tool; 3] = [Tool::Keynet, Tool::Inflate, Tool::Floor];

pub fn run(plan: &Plan, layers: &[Layer]) -> Result<Figures> {
    for layer in layers {
        warm_cache(&layer.path)?;
    }
    let mut times: Vec<LayerTimes> = layers
        .iter()
        .map(|_| LayerTimes {
            keynet: Vec::new(),
            inflate: Vec::new(),
            floor: Vec::new(),
            entries: 0,
        })
        .collect();
    let mut assemble = Vec::new();
    let mut last = None;
    for round in 0..plan.rounds {
        let mut scans = Vec::new();
        for (layer, times) in layers.iter().zip(&mut times) {
            let mut progress = Vec::new();
            for turn in 0..TOOLS.len() {
                let tool = TOOLS[(round + turn) % TOOLS.len()];
                let took = match tool {
                    Tool::Keynet => {
                        let (took, scan) = keynet(&layer.path)?;
                        times.entries = scan.entries.len();
                        scans.push((layer.digest.clone(), scan));
                        times.keynet.push(took);
                        took
                    }
                    Tool::Inflate => {
                        let took = inflate(&layer.path)?;
                        times.inflate.push(took);
                        took
                    }
                    Tool::Floor => {
                        let took = floor(&layer.path)?;
                        times.floor.push(took);
                        took
                    }
                };
                progress.push(format!("{tool:?} {:.2} s", took.as_secs_f64()));
            }
            eprintln!(
                "round {}/{}: {} {}",
                round + 1,
                plan.rounds,
                layer.name,
                progress.join(", ")
            );
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

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Reads the layer from its file as the platform reads a stored blob.
fn keynet(path: &Path) -> Result<(Duration, LayerScan)> {
    let started = Instant::now();
    let scan = scan_layer(open(path)?, LAYER_MEDIA_TYPE, &Limits::default())
        .with_context(|| format!("the scanner refused {}", path.display()))?;
    Ok((started.elapsed(), scan))
}

/// The scanner's decompressor (flate2 on zlib-rs, multi-member) with nothing after it:
/// what is left of the scan's time once the tar walk and the inspection are taken away.
fn inflate(path: &Path) -> Result<Duration> {
    let started = Instant::now();
    let mut decoder = MultiGzDecoder::new(BufReader::with_capacity(COMPRESSED_BUFFER, open(path)?));
    let mut buffer = vec![0; UNCOMPRESSED_BUFFER];
    while decoder
        .read(&mut buffer)
        .with_context(|| format!("cannot inflate {}", path.display()))?
        > 0
    {}
    Ok(started.elapsed())
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
