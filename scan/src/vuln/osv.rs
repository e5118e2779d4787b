//! OSV records (<https://ossf.github.io/osv-schema/>), the fields matching needs.
//!
//! Our own serde structs rather than the `osv` crate's schema types (0.3, which would build
//! without its network client with default features): its `Ecosystem`, `RangeType` and
//! `SeverityType` are closed enums with no catch-all, so a record that lists one ecosystem it
//! does not know yet (the schema has `openEuler:24.03-LTS`, `Root:Debian:12`, `CleanStart`,
//! `opam`, `FreeBSD:ports`… that 0.3 rejects) fails to parse as a whole, losing its Debian,
//! Alpine or PyPI entries too. Here ecosystems and range and severity types stay strings, and
//! what matching does not know is skipped or reported, never a parse failure. Unknown fields
//! are ignored, `null` reads as absent.

use super::ordering::{normalize_name, supported_ecosystem};
use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// One OSV record.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Advisory {
    /// `DSA-5514-1`, `GHSA-…`, `PYSEC-…`, `ALPINE-CVE-…`, `CVE-…`.
    pub id: String,
    pub modified: DateTime<Utc>,
    #[serde(default)]
    pub published: Option<DateTime<Utc>>,
    /// Set when the record was retracted: it then never matches.
    #[serde(default)]
    pub withdrawn: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "nullable")]
    pub aliases: Vec<String>,
    /// Ids of the upstream records this one derives from (Debian and Alpine records name
    /// their CVE here).
    #[serde(default, deserialize_with = "nullable")]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "nullable")]
    pub affected: Vec<Affected>,
    /// GitHub's `{"severity": "HIGH"}` among others.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// `{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`…
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// One affected package of an advisory, with its versions.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Affected {
    /// Absent only in records about a bare Git repository.
    #[serde(default)]
    pub package: Option<AffectedPackage>,
    /// Set instead of the top-level `severity` when packages differ in severity.
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "nullable")]
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one.
    #[serde(default, deserialize_with = "nullable")]
    pub versions: Vec<String>,
    /// Debian's `{"urgency": "high"}` among others.
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AffectedPackage {
    /// As OSV writes it: `Debian:12`, `Alpine:v3.19`, `PyPI`, `npm`…
    pub ecosystem: String,
    /// The source package for Debian and Alpine.
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// Versions in the ecosystem's own ordering: the only kind matching evaluates.
    Ecosystem,
    Semver,
    /// Commit hashes; OSV lists the versions they cover in `versions` as well.
    Git,
    /// A range type newer than this code.
    #[serde(other)]
    Other,
}

/// One step of a range's timeline; exactly one key per event, as the schema requires.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawEvent")]
pub enum Event {
    /// `"0"` means "before every version".
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    /// `"*"` means infinity.
    Limit(String),
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

impl TryFrom<RawEvent> for Event {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Self, String> {
        let events: Vec<Event> = [
            raw.introduced.map(Event::Introduced),
            raw.fixed.map(Event::Fixed),
            raw.last_affected.map(Event::LastAffected),
            raw.limit.map(Event::Limit),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[Event; 1]>::try_from(events) {
            Ok([event]) => Ok(event),
            Err(events) if events.is_empty() => {
                Err("a range event has none of introduced, fixed, last_affected, limit".to_owned())
            }
            Err(_) => Err("a range event has more than one of introduced, fixed, \
                           last_affected, limit"
                .to_owned()),
        }
    }
}

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Advisory {
    /// Parses one record; `file` (a file name or a stored id) only names it in the error.
    pub fn parse(file: &str, json: &str) -> Result<Self, Error> {
        let invalid = |why: String| Error::InvalidAdvisory {
            file: file.to_owned(),
            why,
        };
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let advisory: Advisory = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| invalid(path_and_message(&e)))?;
        deserializer.end().map_err(|e| invalid(e.to_string()))?;
        if advisory.id.trim().is_empty() {
            return Err(invalid("the id is empty".to_owned()));
        }
        Ok(advisory)
    }

    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }

    /// The CVE ids this record stands for: its own id, its aliases and its upstream ids,
    /// each once, in that order.
    pub fn cve_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        let all = std::iter::once(&self.id)
            .chain(&self.aliases)
            .chain(&self.upstream);
        for id in all {
            if is_cve(id) && !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids
    }

    /// The rule id of its findings, which policy allowlists name: the CVE when the record is
    /// about exactly one (so `DSA-5514-1`, `DEBIAN-CVE-2023-4911` and `CVE-2023-4911` are one
    /// finding, allowlisted once), else the record's own id (a DSA fixing several CVEs, a
    /// GHSA without a CVE, a `MAL-…` malicious package).
    pub fn rule_id(&self) -> &str {
        match self.cve_ids().as_slice() {
            [cve] => cve,
            _ => &self.id,
        }
    }

    /// The `(OSV ecosystem, package name)` keys to index this record under, for the
    /// ecosystems the scanner matches (Debian, Alpine, PyPI), each once, sorted. Names are
    /// normalized as [`super::match_packages`] looks them up (PEP 503 for PyPI). Withdrawn
    /// records have keys too, so a stored copy is replaced by its withdrawal.
    pub fn index_keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = self
            .affected
            .iter()
            .filter_map(|affected| affected.package.as_ref())
            .filter_map(|package| {
                let ecosystem = supported_ecosystem(&package.ecosystem)?;
                Some((
                    package.ecosystem.clone(),
                    normalize_name(ecosystem, &package.name),
                ))
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The summary, or the first line of the details.
    pub fn headline(&self) -> Option<&str> {
        let summary = self
            .summary
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        summary.or_else(|| {
            self.details
                .as_deref()
                .and_then(|details| details.lines().map(str::trim).find(|l| !l.is_empty()))
        })
    }
}

fn is_cve(id: &str) -> bool {
    id.strip_prefix("CVE-").is_some_and(|rest| {
        let mut parts = rest.splitn(2, '-');
        let year = parts.next().unwrap_or_default();
        let number = parts.next().unwrap_or_default();
        year.len() == 4
            && number.len() >= 4
            && year
                .bytes()
                .chain(number.bytes())
                .all(|b| b.is_ascii_digit())
    })
}

/// `affected[0].ranges[1].events[0]: a range event has …`, or the message alone at the top.
fn path_and_message(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    match error_path(error) {
        Some(path) => format!("{path}: {}", error.inner()),
        None => error.inner().to_string(),
    }
}

/// Where a JSON error happened, `None` at the top level; a key being read when the input
/// broke off shows as `?`, which says nothing, so it is dropped.
pub(super) fn error_path(error: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    let path = error.path().to_string();
    let path = path.trim_end_matches('?').trim_end_matches('.');
    (!path.is_empty()).then(|| path.to_owned())
}
