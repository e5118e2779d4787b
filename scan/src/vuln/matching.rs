//! Installed packages against advisories, by the OSV evaluation algorithm
//! (<https://ossf.github.io/osv-schema/#evaluation>) in each ecosystem's own ordering.
//!
//! - Lookup keys: `(OSV ecosystem, name)`. PyPI packages are looked up under `PyPI` by their
//!   PEP 503 name; Debian and Alpine packages under the image's release (`Debian:12` and,
//!   as the schema allows a release-less `Debian`, that too; `Alpine:v3.19`) by their
//!   SOURCE package, which is what those databases name. The version compared is the binary
//!   package's: it equals the source version except for binNMUs (`+b1`), which sort after it.
//! - A version is affected when a `versions` entry equals it or an `ECOSYSTEM` range holds
//!   it (introduced ≤ v < fixed, v ≤ last_affected, below a `limit`; every introduced/fixed
//!   pair; `introduced: "0"`). `GIT` ranges are skipped: OSV lists the versions they cover.
//! - Nothing is silently ignored: a package whose OS release has no OSV ecosystem, an
//!   installed version or an advisory bound that does not parse, a `SEMVER` or unknown range
//!   type: each becomes an [`Unevaluated`] entry unless the package is found affected anyway.
//! - Withdrawn advisories never match.
//! - Findings are per package and rule ([`Advisory::rule_id`]): records of one CVE from
//!   several databases (a DSA and its DEBIAN-CVE, a GHSA and its PYSEC) make one finding
//!   naming all of them, with the highest severity and the highest fixed version any of them
//!   names (each database's fix is evidence a fix exists; upgrading past all satisfies all).

use super::ordering::{
    EcosystemVersion, InvalidVersion, normalize_name, release_ecosystem, supported_ecosystem,
};
use super::osv::{Advisory, Affected, Event, Range, RangeKind};
use super::severity::{Rating, rate, severity_label};
use crate::finding::{Finding, FindingKind, PackageRef};
use crate::package::{Ecosystem, OsRelease, Package};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// What [`match_packages`] found and what it could not evaluate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchOutcome {
    /// Most severe first.
    pub findings: Vec<Finding>,
    pub unevaluated: Vec<Unevaluated>,
}

/// A package (or one advisory for it) the scan could not evaluate, so the report can say
/// "could not evaluate" instead of implying "not vulnerable".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unevaluated {
    pub package: PackageRef,
    /// The file that declares the package.
    pub path: String,
    pub layer: Option<String>,
    pub reason: UnevaluatedReason,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnevaluatedReason {
    /// An OS package, but the image's OS has no OSV ecosystem here (not Debian or Alpine,
    /// no `VERSION_ID`, no os-release at all): no advisory was looked up.
    UnknownRelease { os: Option<String> },
    /// The installed version does not parse in its ecosystem, so these advisories' ranges
    /// could not be evaluated.
    InvalidInstalledVersion {
        why: String,
        advisories: Vec<String>,
    },
    /// A bound in an advisory does not parse in the package's ecosystem.
    InvalidAdvisoryVersion {
        advisory: String,
        version: String,
        why: String,
    },
    /// A range type matching does not evaluate for these ecosystems (`SEMVER`, or one newer
    /// than this code).
    UnsupportedRange {
        advisory: String,
        range_type: String,
    },
}

impl fmt::Display for Unevaluated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PackageRef { name, version, .. } = &self.package;
        write!(
            f,
            "{name} {version} ({}) could not be evaluated: ",
            self.path
        )?;
        match &self.reason {
            UnevaluatedReason::UnknownRelease { os: Some(os) } => {
                write!(f, "no vulnerability data for the OS {os}")
            }
            UnevaluatedReason::UnknownRelease { os: None } => {
                write!(f, "the image has no os-release naming its OS release")
            }
            UnevaluatedReason::InvalidInstalledVersion { why, advisories } => {
                write!(f, "{why}; not checked against {}", advisories.join(", "))
            }
            UnevaluatedReason::InvalidAdvisoryVersion {
                advisory,
                version,
                why,
            } => write!(f, "advisory {advisory} has the bound {version:?}: {why}"),
            UnevaluatedReason::UnsupportedRange {
                advisory,
                range_type,
            } => write!(f, "advisory {advisory} has a {range_type} range"),
        }
    }
}

/// The `(OSV ecosystem, name)` keys [`match_packages`] will look up, each once, sorted: for a
/// caller that fetches them in one batch before matching.
pub fn lookup_keys(packages: &[Package], os: Option<&OsRelease>) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = packages
        .iter()
        .filter_map(|package| package_keys(package, os).ok())
        .flatten()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Matches `packages` against the advisories `advisories_for(osv_ecosystem, name)` returns,
/// called once per distinct key (see [`lookup_keys`]).
pub fn match_packages<F>(
    packages: &[Package],
    os: Option<&OsRelease>,
    mut advisories_for: F,
) -> MatchOutcome
where
    F: FnMut(&str, &str) -> Vec<Advisory>,
{
    let mut cache: HashMap<(String, String), Vec<Advisory>> = HashMap::new();
    let mut outcome = MatchOutcome::default();
    for package in packages {
        let keys = match package_keys(package, os) {
            Ok(keys) => keys,
            Err(reason) => {
                outcome.unevaluated.push(unevaluated(package, reason));
                continue;
            }
        };
        for key in &keys {
            if !cache.contains_key(key) {
                let advisories = advisories_for(&key.0, &key.1);
                cache.insert(key.clone(), advisories);
            }
        }
        let advisories = keys.iter().filter_map(|key| cache.get(key)).flatten();
        match_package(package, &keys, advisories, &mut outcome);
    }
    outcome.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.path.cmp(&b.path))
    });
    outcome
}

fn package_keys(
    package: &Package,
    os: Option<&OsRelease>,
) -> Result<Vec<(String, String)>, UnevaluatedReason> {
    let ecosystem = package.ecosystem;
    if ecosystem == Ecosystem::PyPI {
        return Ok(vec![(
            "PyPI".to_owned(),
            normalize_name(ecosystem, &package.name),
        )]);
    }
    let release = os
        .and_then(release_ecosystem)
        .filter(|release| supported_ecosystem(release) == Some(ecosystem))
        .ok_or_else(|| UnevaluatedReason::UnknownRelease {
            os: os.map(describe_os),
        })?;
    let name = package.source.as_deref().unwrap_or(&package.name);
    let name = normalize_name(ecosystem, name);
    let mut keys = vec![(release, name.clone())];
    if ecosystem == Ecosystem::Debian {
        keys.push(("Debian".to_owned(), name));
    }
    Ok(keys)
}

fn describe_os(os: &OsRelease) -> String {
    match (&os.pretty_name, &os.version_id) {
        (Some(pretty), _) => pretty.clone(),
        (None, Some(version)) => format!("{} {version}", os.id),
        (None, None) => os.id.clone(),
    }
}

fn unevaluated(package: &Package, reason: UnevaluatedReason) -> Unevaluated {
    Unevaluated {
        package: package_ref(package),
        path: package.path.clone(),
        layer: package.layer.clone(),
        reason,
    }
}

fn package_ref(package: &Package) -> PackageRef {
    PackageRef {
        ecosystem: package.ecosystem,
        name: package.name.clone(),
        version: package.version.clone(),
    }
}

/// A fixed version, parsed and as written; `None` when no fix is known.
type Fix = Option<(EcosystemVersion, String)>;

/// The advisories of one rule that affect one package.
struct Hit<'a> {
    advisories: Vec<&'a Advisory>,
    rating: Rating,
    fixes: Vec<(EcosystemVersion, String)>,
}

fn match_package<'a>(
    package: &Package,
    keys: &[(String, String)],
    advisories: impl Iterator<Item = &'a Advisory>,
    outcome: &mut MatchOutcome,
) {
    let installed = EcosystemVersion::parse(package.ecosystem, &package.version);
    let mut seen: HashSet<&str> = HashSet::new();
    let mut hits: BTreeMap<&str, Hit<'a>> = BTreeMap::new();
    let mut version_blocked: Vec<String> = Vec::new();
    for advisory in advisories {
        // The same record can come back under `Debian:12` and `Debian`.
        if advisory.is_withdrawn() || !seen.insert(advisory.id.as_str()) {
            continue;
        }
        let entries = advisory.affected.iter().filter(|affected| {
            affected.package.as_ref().is_some_and(|p| {
                keys.iter().any(|(ecosystem, name)| {
                    p.ecosystem == *ecosystem && normalize_name(package.ecosystem, &p.name) == *name
                })
            })
        });
        match evaluate(advisory, entries, package, installed.as_ref()) {
            Verdict::Affected { rating, fix } => {
                let hit = hits.entry(advisory.rule_id()).or_insert_with(|| Hit {
                    advisories: Vec::new(),
                    rating: rating.clone(),
                    fixes: Vec::new(),
                });
                hit.advisories.push(advisory);
                if rating.severity > hit.rating.severity {
                    hit.rating = rating;
                }
                hit.fixes.extend(fix);
            }
            Verdict::NotAffected => {}
            Verdict::Unknown {
                installed_invalid,
                reasons,
            } => {
                if installed_invalid {
                    version_blocked.push(advisory.id.clone());
                }
                for reason in reasons {
                    outcome.unevaluated.push(unevaluated(package, reason));
                }
            }
        }
    }
    if let (Err(invalid), false) = (&installed, version_blocked.is_empty()) {
        let reason = UnevaluatedReason::InvalidInstalledVersion {
            why: invalid.why.clone(),
            advisories: version_blocked,
        };
        outcome.unevaluated.push(unevaluated(package, reason));
    }
    for (rule, hit) in hits {
        outcome.findings.push(finding(package, rule, hit));
    }
}

enum Verdict {
    Affected {
        rating: Rating,
        fix: Fix,
    },
    NotAffected,
    Unknown {
        /// Some range was skipped because the installed version does not parse.
        installed_invalid: bool,
        reasons: Vec<UnevaluatedReason>,
    },
}

fn evaluate<'a>(
    advisory: &Advisory,
    entries: impl Iterator<Item = &'a Affected>,
    package: &Package,
    installed: Result<&EcosystemVersion, &InvalidVersion>,
) -> Verdict {
    let mut rating: Option<Rating> = None;
    let mut fixes: Vec<Fix> = Vec::new();
    let mut installed_invalid = false;
    let mut reasons = Vec::new();
    for affected in entries {
        let listed = affected
            .versions
            .iter()
            .any(|listed| same_version(package, installed, listed));
        let mut in_range = false;
        for range in &affected.ranges {
            let installed = match (&range.kind, installed) {
                (RangeKind::Git, _) => continue,
                (RangeKind::Ecosystem, Ok(installed)) => installed,
                (RangeKind::Ecosystem, Err(_)) => {
                    installed_invalid = true;
                    continue;
                }
                (RangeKind::Semver, _) | (RangeKind::Other, _) => {
                    reasons.push(UnevaluatedReason::UnsupportedRange {
                        advisory: advisory.id.clone(),
                        range_type: range_type_name(&range.kind).to_owned(),
                    });
                    continue;
                }
            };
            match range_verdict(range, package.ecosystem, installed) {
                Ok(Some(fix)) => {
                    in_range = true;
                    fixes.push(fix);
                }
                Ok(None) => {}
                Err(invalid) => reasons.push(UnevaluatedReason::InvalidAdvisoryVersion {
                    advisory: advisory.id.clone(),
                    version: invalid.version,
                    why: invalid.why,
                }),
            }
        }
        if listed && !in_range {
            // Listed one by one: the list says nothing about a fix.
            fixes.push(None);
        }
        if listed || in_range {
            let entry_rating = rate(advisory, affected);
            if rating
                .as_ref()
                .is_none_or(|r| entry_rating.severity > r.severity)
            {
                rating = Some(entry_rating);
            }
        }
    }
    match rating {
        Some(rating) => {
            // Ranges of one record are a union: a version in a range with no fix stays
            // affected whatever the other ranges say; else past the highest fix.
            let fix = if fixes.iter().any(Option::is_none) {
                None
            } else {
                highest(fixes.into_iter().flatten())
            };
            Verdict::Affected { rating, fix }
        }
        None if installed_invalid || !reasons.is_empty() => Verdict::Unknown {
            installed_invalid,
            reasons,
        },
        None => Verdict::NotAffected,
    }
}

fn range_type_name(kind: &RangeKind) -> &'static str {
    match kind {
        RangeKind::Ecosystem => "ECOSYSTEM",
        RangeKind::Semver => "SEMVER",
        RangeKind::Git => "GIT",
        RangeKind::Other => "unknown-type",
    }
}

/// A `versions` entry against the installed version: equal as strings, as the schema
/// defines it, or by the ecosystem's equality when both parse (`1.0` is `1.0.0` in PEP 440).
fn same_version(
    package: &Package,
    installed: Result<&EcosystemVersion, &InvalidVersion>,
    listed: &str,
) -> bool {
    if package.version.trim() == listed.trim() {
        return true;
    }
    match (
        installed,
        EcosystemVersion::parse(package.ecosystem, listed),
    ) {
        (Ok(installed), Ok(listed)) => *installed == listed,
        _ => false,
    }
}

fn highest(versions: impl Iterator<Item = (EcosystemVersion, String)>) -> Fix {
    versions.max_by(|a, b| a.0.compare(&b.0).unwrap_or(Ordering::Equal))
}

/// A range event's version: `introduced: "0"` sorts first, a `limit` with `*` last.
#[derive(Clone, Debug)]
enum Bound {
    Zero,
    At(EcosystemVersion),
    Infinity,
}

impl Bound {
    fn compare(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Zero, Self::Zero) | (Self::Infinity, Self::Infinity) => Ordering::Equal,
            (Self::Zero, _) | (_, Self::Infinity) => Ordering::Less,
            (_, Self::Zero) | (Self::Infinity, _) => Ordering::Greater,
            (Self::At(a), Self::At(b)) => a.compare(b).unwrap_or(Ordering::Equal),
        }
    }
}

/// Whether the range holds `installed`: `Ok(Some(fix))` if it does, with the range's first
/// fixed version above it (`None` when there is none, e.g. `last_affected`).
fn range_verdict(
    range: &Range,
    ecosystem: Ecosystem,
    installed: &EcosystemVersion,
) -> Result<Option<Fix>, InvalidVersion> {
    let mut events: Vec<(Bound, &Event)> = Vec::with_capacity(range.events.len());
    for event in &range.events {
        let bound = match event {
            Event::Introduced(v) if v.trim() == "0" => Bound::Zero,
            Event::Limit(v) if v.contains('*') => Bound::Infinity,
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => {
                Bound::At(EcosystemVersion::parse(ecosystem, v.trim())?)
            }
        };
        events.push((bound, event));
    }
    let v = Bound::At(installed.clone());
    let mut limits = events
        .iter()
        .filter(|(_, event)| matches!(event, Event::Limit(_)))
        .peekable();
    if limits.peek().is_some() && !limits.any(|(limit, _)| v.compare(limit).is_lt()) {
        return Ok(None);
    }
    events.sort_by(|a, b| a.0.compare(&b.0));
    let mut vulnerable = false;
    for (bound, event) in &events {
        let order = v.compare(bound);
        match event {
            Event::Introduced(_) if order.is_ge() => vulnerable = true,
            Event::Fixed(_) if order.is_ge() => vulnerable = false,
            Event::LastAffected(_) if order.is_gt() => vulnerable = false,
            _ => {}
        }
    }
    if !vulnerable {
        return Ok(None);
    }
    let fix = events
        .into_iter()
        .find_map(|(bound, event)| match (bound, event) {
            (Bound::At(version), Event::Fixed(text))
                if installed.compare(&version) == Some(Ordering::Less) =>
            {
                Some((version, text.trim().to_owned()))
            }
            _ => None,
        });
    Ok(Some(fix))
}

fn finding(package: &Package, rule: &str, hit: Hit<'_>) -> Finding {
    let Hit {
        advisories,
        rating,
        fixes,
    } = hit;
    let fix = highest(fixes.into_iter()).map(|(_, text)| text);
    let headline = advisories.iter().find_map(|a| a.headline());
    let ids: Vec<&str> = advisories
        .iter()
        .map(|a| a.id.as_str())
        .filter(|id| *id != rule)
        .collect();
    let name = &package.name;
    let version = &package.version;
    let title = match headline {
        Some(headline) => format!("{rule} in {name} {version}: {}", shorten(headline, 120)),
        None => format!("{rule} in {name} {version}"),
    };
    let mut message = format!("{name} {version}");
    if let Some(source) = &package.source {
        message.push_str(&format!(" (source package {source})"));
    }
    message.push_str(&format!(" is affected by {rule}"));
    if !ids.is_empty() {
        message.push_str(&format!(" ({})", ids.join(", ")));
    }
    match headline {
        Some(headline) => message.push_str(&format!(": {}", end_sentence(headline))),
        None => message.push('.'),
    }
    match &fix {
        Some(fixed) => message.push_str(&format!(
            " Fixed in {fixed}: upgrade {name} to {fixed} or later."
        )),
        None => message.push_str(" No fix yet: no fixed version is known."),
    }
    message.push_str(&format!(
        " Severity {} ({}).",
        severity_label(rating.severity),
        rating.basis
    ));
    Finding {
        kind: FindingKind::Vulnerability,
        rule: rule.to_owned(),
        severity: rating.severity,
        title,
        message,
        path: Some(package.path.clone()),
        layer: package.layer.clone(),
        package: Some(package_ref(package)),
        fixed_version: fix,
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

fn end_sentence(text: &str) -> String {
    let text = shorten(text, 300);
    if text.ends_with(['.', '!', '?', '…']) {
        text
    } else {
        format!("{text}.")
    }
}
