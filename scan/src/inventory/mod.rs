//! The OS and the installed packages, from the files that declare them, plus the users with
//! uid 0 (so that `User admin` is recognised as root when `admin` is uid 0).
//!
//! Which parser for which format:
//! - dpkg status: the `deb822-fast` crate (Debian's control-file format, by a Debian
//!   developer; its borrowed parser copies nothing).
//! - Python `METADATA` / `PKG-INFO`: the `mail-parser` crate, as these files are email headers
//!   (core metadata spec: "parsed by Python's email package"), folding and encoded words
//!   included.
//! - apk `installed`, os-release, passwd: small hand parsers, as no crate fits: apk's
//!   database is a line format (`K:value`, blank line between packages, no continuation
//!   lines) that a deb822 parser would misread, and os-release (shell-like assignments) and
//!   passwd (colon-separated) are a few lines each.

mod apk;
mod dpkg;
mod os_release;
mod passwd;
mod python;

use crate::layers::Limits;
use crate::package::{OsRelease, Package};
use serde::{Deserialize, Serialize};

/// What one layer's files declare; each item keeps the path of its file, so the merge keeps
/// only what the final image still holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInventory {
    pub os_releases: Vec<OsReleaseFile>,
    /// With `layer` unset; the merge sets it.
    pub packages: Vec<Package>,
    pub passwd: Vec<PasswdFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsReleaseFile {
    pub path: String,
    pub os: OsRelease,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswdFile {
    pub path: String,
    /// Users whose uid is 0.
    pub root_users: Vec<String>,
}

impl LayerInventory {
    pub(crate) fn len(&self) -> usize {
        self.os_releases.len() + self.packages.len() + self.passwd.len()
    }

    /// Drops what the file at `path` declared (a later entry of the layer replaced it).
    pub(crate) fn forget(&mut self, path: &str) {
        self.os_releases.retain(|f| f.path != path);
        self.packages.retain(|p| p.path != path);
        self.passwd.retain(|f| f.path != path);
    }
}

/// The files the inventory reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    OsRelease,
    DpkgStatus,
    ApkInstalled,
    PythonMetadata,
    Passwd,
}

/// Python metadata headers come first; the rest is the long description.
const PYTHON_METADATA_PREFIX: u64 = 256 * 1024;

impl Source {
    pub(crate) fn of(path: &str) -> Option<Self> {
        match path {
            "/etc/os-release" | "/usr/lib/os-release" => return Some(Self::OsRelease),
            "/var/lib/dpkg/status" => return Some(Self::DpkgStatus),
            "/lib/apk/db/installed" => return Some(Self::ApkInstalled),
            "/etc/passwd" => return Some(Self::Passwd),
            _ => {}
        }
        // Distroless images keep one status file per package, next to its checksums.
        if let Some(name) = path.strip_prefix("/var/lib/dpkg/status.d/") {
            return (!name.contains('/') && !name.ends_with(".md5sums"))
                .then_some(Self::DpkgStatus);
        }
        // `foo.egg-info` may be a directory holding PKG-INFO, or (distutils) the file itself.
        (path.ends_with(".dist-info/METADATA")
            || path.ends_with(".egg-info/PKG-INFO")
            || path.ends_with(".egg-info"))
        .then_some(Self::PythonMetadata)
    }

    /// How many bytes to read, and whether a larger file is refused (`true`) rather than
    /// read in part.
    pub(crate) fn read_limit(self, limits: &Limits) -> (u64, bool) {
        match self {
            Self::PythonMetadata => (PYTHON_METADATA_PREFIX, false),
            _ => (limits.max_inventory_file, true),
        }
    }

    pub(crate) fn parse(
        self,
        path: &str,
        content: &[u8],
        into: &mut LayerInventory,
    ) -> Result<(), String> {
        match self {
            Self::OsRelease => {
                into.os_releases.push(OsReleaseFile {
                    path: path.to_owned(),
                    os: os_release::parse(content),
                });
            }
            Self::DpkgStatus => into.packages.extend(dpkg::parse(path, content)?),
            Self::ApkInstalled => into.packages.extend(apk::parse(path, content)?),
            Self::PythonMetadata => into.packages.extend(python::parse(path, content)),
            Self::Passwd => {
                into.passwd.push(PasswdFile {
                    path: path.to_owned(),
                    root_users: passwd::root_users(content),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn which_files_the_inventory_reads() {
        for (path, source) in [
            ("/etc/os-release", Some(Source::OsRelease)),
            ("/usr/lib/os-release", Some(Source::OsRelease)),
            ("/var/lib/dpkg/status", Some(Source::DpkgStatus)),
            ("/var/lib/dpkg/status.d/libc6", Some(Source::DpkgStatus)),
            ("/var/lib/dpkg/status.d/libc6.md5sums", None),
            ("/var/lib/dpkg/status-old", None),
            ("/lib/apk/db/installed", Some(Source::ApkInstalled)),
            (
                "/opt/venv/lib/python3.11/site-packages/torch-2.1.0.dist-info/METADATA",
                Some(Source::PythonMetadata),
            ),
            (
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                Some(Source::PythonMetadata),
            ),
            (
                "/usr/lib/python3/dist-packages/foo.egg-info/PKG-INFO",
                Some(Source::PythonMetadata),
            ),
            ("/usr/lib/python3/dist-packages/foo.dist-info/RECORD", None),
            ("/etc/passwd", Some(Source::Passwd)),
            ("/home/etc/passwd", None),
        ] {
            assert_eq!(Source::of(path), source, "{path}");
        }
    }
}
