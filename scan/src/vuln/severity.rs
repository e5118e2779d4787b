//! The severity of an advisory for one affected package, and what it was derived from.
//!
//! In order, the first that gives a rating wins:
//! 1. CVSS v3.x and v4.0 vectors, the package's own (`affected[].severity`, which the schema
//!    says replaces the top-level one) else the record's: the base score computed by the
//!    RustSec `cvss` crate, the highest when there are several (a gate errs on the safe
//!    side), rated 9.0+ Critical, 7.0+ High, 4.0+ Medium, above 0 Low, and 0.0 ("None" in
//!    CVSS, which [`Severity`] lacks) Unknown, its lowest rank. CVSS v2 vectors are not used:
//!    their scale has no Critical, and the records that carry them carry a v3 vector or a
//!    database rating too.
//! 2. The database's own rating, `database_specific.severity` of the package then of the
//!    record (GitHub: `CRITICAL`, `HIGH`, `MODERATE`, `LOW`), or the package's
//!    `ecosystem_specific.severity`.
//! 3. Debian's `ecosystem_specific.urgency` (`high`, `medium`, `low`, `unimportant` → Low);
//!    `not yet assigned` and `end-of-life` give no rating.
//! 4. Unknown.

use super::osv::{Advisory, Affected, SeverityScore};
use crate::finding::Severity;
use std::str::FromStr;

/// A severity and, for the finding's message, where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Rating {
    pub severity: Severity,
    /// `CVSS 3.1 base score 7.8`, `database rating MODERATE`, `Debian urgency medium`,
    /// `no severity in the advisory`.
    pub basis: String,
}

pub fn rate(advisory: &Advisory, affected: &Affected) -> Rating {
    let vectors = if affected.severity.is_empty() {
        &advisory.severity
    } else {
        &affected.severity
    };
    if let Some(rating) = highest_cvss(vectors) {
        return rating;
    }
    let database_ratings = [
        affected.database_specific.as_ref(),
        advisory.database_specific.as_ref(),
        affected.ecosystem_specific.as_ref(),
    ];
    for value in database_ratings.into_iter().flatten() {
        let text = value.get("severity").and_then(|s| s.as_str());
        if let Some(severity) = text.and_then(database_severity) {
            return Rating {
                severity,
                basis: format!("database rating {}", text.unwrap_or_default()),
            };
        }
    }
    let urgency = affected
        .ecosystem_specific
        .as_ref()
        .and_then(|value| value.get("urgency"))
        .and_then(|urgency| urgency.as_str());
    if let Some(severity) = urgency.and_then(debian_urgency) {
        return Rating {
            severity,
            basis: format!("Debian urgency {}", urgency.unwrap_or_default()),
        };
    }
    Rating {
        severity: Severity::Unknown,
        basis: "no severity in the advisory".to_owned(),
    }
}

/// The rating of one CVSS v3.x or v4.0 vector, with its base score; `None` for other
/// versions and for vectors that do not parse.
pub fn cvss_rating(vector: &str) -> Option<(Severity, f64)> {
    let cvss = cvss::Cvss::from_str(vector.trim()).ok()?;
    if !matches!(
        cvss,
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) | cvss::Cvss::CvssV40(_)
    ) {
        return None;
    }
    let score = cvss.score();
    let severity = if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Unknown
    };
    Some((severity, score))
}

fn highest_cvss(scores: &[SeverityScore]) -> Option<Rating> {
    scores
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "CVSS_V3" | "CVSS_V4"))
        .filter_map(|s| {
            let (severity, score) = cvss_rating(&s.score)?;
            let version = s
                .score
                .split('/')
                .next()
                .and_then(|p| p.strip_prefix("CVSS:"));
            Some((severity, score, version.unwrap_or("?").to_owned()))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(severity, score, version)| Rating {
            severity,
            basis: format!("CVSS {version} base score {score:.1}"),
        })
}

fn database_severity(text: &str) -> Option<Severity> {
    match text.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Some(Severity::Critical),
        "HIGH" => Some(Severity::High),
        "MODERATE" | "MEDIUM" => Some(Severity::Medium),
        "LOW" => Some(Severity::Low),
        _ => None,
    }
}

fn debian_urgency(text: &str) -> Option<Severity> {
    // The security tracker sometimes marks an urgency with a trailing `**` (`low**`).
    match text
        .trim()
        .trim_end_matches('*')
        .to_ascii_lowercase()
        .as_str()
    {
        "high" => Some(Severity::High),
        "medium" => Some(Severity::Medium),
        "low" | "unimportant" => Some(Severity::Low),
        _ => None,
    }
}

/// `Critical`, `High`… for sentences.
pub(crate) fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Unknown => "Unknown",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}
