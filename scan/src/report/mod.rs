//! The image as a whole: its layers merged in order, whiteouts applied, into one
//! [`ImageScan`]; rendered as CycloneDX 1.5 ([`cyclonedx_json`]) and SARIF 2.1.0
//! ([`sarif_json`]).

mod cyclonedx;
mod sarif;

pub use cyclonedx::cyclonedx_json;
pub use sarif::sarif_json;

use crate::finding::Finding;
use crate::findings;
use crate::layers::{EntryKind, LayerScan};
use crate::package::{OsRelease, Package};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The parts of the OCI image config the scan looks at; the caller fills it from the
/// config blob (`config.User`, `config.Env`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `user[:group]`, names or numbers; empty means root.
    pub user: String,
    /// `NAME=value` lines.
    pub env: Vec<String>,
}

/// What the image holds once its layers are applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageScan {
    pub os: Option<OsRelease>,
    /// Each with its layer digest and the path of the file that declares it.
    pub packages: Vec<Package>,
    /// Each with its layer digest and path, except the image config's own findings.
    pub findings: Vec<Finding>,
}

/// Applies `layers` (digest and scan, lowest first) in order: an upper layer's entry replaces
/// the path below it (and, unless it is a directory, everything under it), a whiteout deletes
/// a path and everything under it, an opaque directory hides what lower layers put in it.
/// Only packages and findings of files still standing in the final image are kept.
pub fn merge(layers: &[(String, LayerScan)], config: &ImageConfig) -> ImageScan {
    let owners = final_owners(layers);
    let stands = |layer: usize, path: &str| owners.get(path) == Some(&layer);

    let mut os_files = Vec::new();
    let mut root_users = Vec::new();
    let mut packages = Vec::new();
    let mut findings = Vec::new();
    for (index, (digest, scan)) in layers.iter().enumerate() {
        for file in scan
            .inventory
            .os_releases
            .iter()
            .filter(|f| stands(index, &f.path))
        {
            os_files.push(file);
        }
        for file in scan
            .inventory
            .passwd
            .iter()
            .filter(|f| stands(index, &f.path))
        {
            root_users.extend(file.root_users.iter().cloned());
        }
        for package in scan
            .inventory
            .packages
            .iter()
            .filter(|p| stands(index, &p.path))
        {
            packages.push(Package {
                layer: Some(digest.clone()),
                ..package.clone()
            });
        }
        for finding in &scan.findings {
            if finding
                .path
                .as_deref()
                .is_some_and(|path| stands(index, path))
            {
                findings.push(Finding {
                    layer: Some(digest.clone()),
                    ..finding.clone()
                });
            }
        }
    }
    // `/etc/os-release` wins; it is often a symlink to `/usr/lib/os-release`, whose file
    // then speaks for it.
    os_files.sort_by_key(|f| f.path != "/etc/os-release");
    let os = os_files.first().map(|f| f.os.clone());

    findings.extend(findings::image_config(config, &root_users));
    packages.sort();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.path.cmp(&b.path))
    });
    ImageScan {
        os,
        packages,
        findings,
    }
}

/// For every path of the final image, the index of the layer whose entry stands there.
fn final_owners(layers: &[(String, LayerScan)]) -> BTreeMap<&str, usize> {
    let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, (_, scan)) in layers.iter().enumerate() {
        // Whiteouts and opaque directories act on the layers below only, so before this
        // layer's own entries.
        for deleted in &scan.whiteouts {
            owners.remove(deleted.as_str());
            remove_under(&mut owners, deleted);
        }
        for dir in &scan.opaque_dirs {
            remove_under(&mut owners, dir);
        }
        for entry in &scan.entries {
            if entry.kind != EntryKind::Dir {
                remove_under(&mut owners, &entry.path);
            }
            owners.insert(&entry.path, index);
        }
    }
    owners
}

/// Removes every path strictly under `dir`: those in `[dir + "/", dir + "0")`, `'0'` being
/// the character after `'/'`.
fn remove_under(owners: &mut BTreeMap<&str, usize>, dir: &str) {
    let (low, high) = (format!("{dir}/"), format!("{dir}0"));
    let under: Vec<&str> = owners
        .range::<str, _>((
            Bound::Included(low.as_str()),
            Bound::Excluded(high.as_str()),
        ))
        .map(|(path, _)| *path)
        .collect();
    for path in under {
        owners.remove(path);
    }
}
