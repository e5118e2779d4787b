//! What the inventory finds and the vulnerability matcher reads.

use serde::{Deserialize, Serialize};

/// The package ecosystems the scanner inventories, as OSV names them (without the release
/// suffix: see [`OsRelease::osv_ecosystem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    Debian,
    Alpine,
    PyPI,
}

/// `/etc/os-release` of the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID`, e.g. `debian`, `alpine`, `ubuntu`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `3.19.1`.
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// The source package (dpkg `Source:`, apk origin `o:`) when it differs from `name`:
    /// Debian and Alpine advisories name source packages.
    pub source: Option<String>,
    /// The file that declares the package (`/var/lib/dpkg/status`, a `METADATA` file…).
    pub path: String,
    /// Digest of the layer holding that file, once layers are merged.
    pub layer: Option<String>,
}
