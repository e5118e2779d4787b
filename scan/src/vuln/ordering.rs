//! Ecosystem names as OSV writes them, package-name normalization, and each ecosystem's own
//! version ordering.
//!
//! - Debian: dpkg's ordering (epochs, `~` before everything, revisions) by the `debversion`
//!   crate, plus dpkg's rule that the upstream version starts with a digit.
//! - Alpine: apk-tools' ordering (`_alpha` < `_rc` < release < `_p`, `-rN` revisions) by the
//!   `apk-version` crate, which compiles apk-tools' own `version.c` comparator. Its comparator
//!   never says "invalid" (it falls back to string order), so a version is first checked
//!   against apk's grammar here, mirroring that comparator's tokenizer.
//! - PyPI: PEP 440 (epochs, pre/post/dev releases, local versions) by `pep440_rs`.

use crate::package::{Ecosystem, OsRelease};
use regex::Regex;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The OSV ecosystem of the image's OS packages: `Debian:12`, `Alpine:v3.19`. `None` for an
/// OS without OSV data here or without a usable `VERSION_ID` (Debian testing/sid has none).
pub fn release_ecosystem(os: &OsRelease) -> Option<String> {
    let version = os.version_id.as_deref()?.trim();
    let mut numbers = version.split('.').map(|part| {
        // `3.21.0_alpha20240807` (Alpine edge): only the leading digits of each part count.
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        part[..digits].parse::<u32>().ok()
    });
    match os.id.trim().to_ascii_lowercase().as_str() {
        "debian" => Some(format!("Debian:{}", numbers.next()??)),
        "alpine" => {
            let major = numbers.next()??;
            let minor = numbers.next()??;
            Some(format!("Alpine:v{major}.{minor}"))
        }
        _ => None,
    }
}

/// Which scanner ecosystem an OSV ecosystem string belongs to: `Debian`, `Debian:12` →
/// Debian; `Alpine:v3.19` → Alpine; `PyPI` → PyPI; anything else → `None`.
pub fn supported_ecosystem(osv: &str) -> Option<Ecosystem> {
    let (base, release) = match osv.split_once(':') {
        Some((base, release)) => (base, Some(release)),
        None => (osv, None),
    };
    match (base, release) {
        ("Debian", _) => Some(Ecosystem::Debian),
        ("Alpine", _) => Some(Ecosystem::Alpine),
        ("PyPI", None) => Some(Ecosystem::PyPI),
        _ => None,
    }
}

/// The name advisories are keyed and compared by: PEP 503 for PyPI (`Jinja2`, `jinja_2.x`
/// → `jinja2`, `jinja-2-x`), unchanged for Debian and Alpine, whose names are already
/// canonical lower case.
pub fn normalize_name(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => {
            let mut normalized = String::with_capacity(name.len());
            let mut in_separator_run = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_separator_run {
                        normalized.push('-');
                    }
                    in_separator_run = true;
                } else {
                    normalized.extend(c.to_lowercase());
                    in_separator_run = false;
                }
            }
            normalized
        }
        Ecosystem::Debian | Ecosystem::Alpine => name.to_owned(),
    }
}

/// A version parsed in its ecosystem. Versions of different ecosystems are not comparable.
#[derive(Clone, Debug)]
pub enum EcosystemVersion {
    Debian(debversion::Version),
    /// Checked against apk's grammar; compared by apk-tools' comparator.
    Alpine(String),
    PyPI(pep440_rs::Version),
}

/// A version string that does not parse in its ecosystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidVersion {
    pub ecosystem: Ecosystem,
    pub version: String,
    pub why: String,
}

impl fmt::Display for InvalidVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid {:?} version: {}",
            self.version, self.ecosystem, self.why
        )
    }
}

/// apk's version grammar, as apk-tools' tokenizer accepts it: numbers separated by dots, one
/// optional letter, `_suffix[N]` any number of times, an optional `~commit`, an optional
/// `-rN` revision.
static APK_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]+(?:\.[0-9]+)*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(?:~[0-9a-fA-F]+)?(?:-r[0-9]+)?$",
    )
    .expect("the apk version pattern is a valid regex")
});

impl EcosystemVersion {
    pub fn parse(ecosystem: Ecosystem, version: &str) -> Result<Self, InvalidVersion> {
        let invalid = |why: String| InvalidVersion {
            ecosystem,
            version: version.to_owned(),
            why,
        };
        match ecosystem {
            Ecosystem::Debian => {
                let parsed =
                    debversion::Version::from_str(version).map_err(|e| invalid(e.to_string()))?;
                // dpkg also requires this; the crate reads `x:1.0` as an upstream version.
                if !parsed
                    .upstream_version
                    .starts_with(|c: char| c.is_ascii_digit())
                {
                    return Err(invalid(
                        "the upstream version must start with a digit, after an optional \
                         numeric epoch and colon"
                            .to_owned(),
                    ));
                }
                Ok(Self::Debian(parsed))
            }
            Ecosystem::Alpine if APK_VERSION.is_match(version) => {
                Ok(Self::Alpine(version.to_owned()))
            }
            Ecosystem::Alpine => Err(invalid(
                "expected digits and dots, an optional letter, _alpha/_beta/_pre/_rc/_p… \
                 suffixes and an optional -rN revision"
                    .to_owned(),
            )),
            Ecosystem::PyPI => pep440_rs::Version::from_str(version)
                .map(Self::PyPI)
                .map_err(|e| invalid(e.to_string())),
        }
    }

    /// The ecosystem's ordering; `None` across ecosystems.
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Debian(a), Self::Debian(b)) => Some(a.cmp(b)),
            // `None` only for an empty or NUL-containing string, which the grammar excludes.
            (Self::Alpine(a), Self::Alpine(b)) => apk_version::compare_apk_versions(a, b),
            (Self::PyPI(a), Self::PyPI(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl PartialEq for EcosystemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for EcosystemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.compare(other)
    }
}
