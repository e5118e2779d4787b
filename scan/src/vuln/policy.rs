//! Whether a scan blocks a trainer version: an organization's [`Policy`] (stored as JSON)
//! applied to the scan's findings. Pure: the caller passes the clock.
//!
//! A finding blocks when
//! - it is a secret and `block_secrets` is on;
//! - it is a vulnerability or a misconfiguration whose severity is in
//!   `block_severities_always`;
//! - it is a vulnerability whose severity is in `block_with_fix` and a fixed version exists
//!   (an unfixable vulnerability cannot be acted on by the author, so it does not block by
//!   default);
//!
//! and no active allowlist entry covers it. `review` findings never block: they ask a human
//! to look. An entry covers a finding when its `rule` equals the finding's (ASCII case
//! aside: `cve-2023-4911` is `CVE-2023-4911`), its `package`, if set, names the finding's
//! package (PEP 503-normalized for PyPI), its `path`, if set, is the finding's path or, ending
//! in `/`, a folder holding it, and `now` is before its `expires_at`.

use super::ordering::normalize_name;
use super::osv::error_path;
use super::severity::severity_label;
use crate::error::Error;
use crate::finding::{Finding, FindingKind, Severity};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Vulnerabilities of these severities block when a fixed version exists.
    pub block_with_fix: Vec<Severity>,
    pub block_secrets: bool,
    /// Vulnerabilities and misconfigurations of these severities block, fix or not.
    pub block_severities_always: Vec<Severity>,
    pub allowlist: Vec<AllowEntry>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            block_with_fix: vec![Severity::Critical, Severity::High],
            block_secrets: true,
            block_severities_always: Vec::new(),
            allowlist: Vec::new(),
        }
    }
}

/// An accepted finding, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// The finding's rule: `CVE-2023-4911`, `GHSA-…`, `secret.private-key`…
    pub rule: String,
    /// Only for this package (the installed package's name).
    #[serde(default)]
    pub package: Option<String>,
    /// Only for this file, or under this folder when it ends with `/`.
    #[serde(default)]
    pub path: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// Why the risk is accepted, for the next reviewer.
    pub reason: String,
}

impl AllowEntry {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether the entry names this finding, expired or not.
    pub fn covers(&self, finding: &Finding) -> bool {
        if !self.rule.trim().eq_ignore_ascii_case(finding.rule.trim()) {
            return false;
        }
        if let Some(wanted) = &self.package {
            let Some(package) = &finding.package else {
                return false;
            };
            if normalize_name(package.ecosystem, wanted.trim())
                != normalize_name(package.ecosystem, &package.name)
            {
                return false;
            }
        }
        if let Some(wanted) = &self.path {
            let Some(path) = &finding.path else {
                return false;
            };
            let wanted = wanted.trim();
            let covered = if wanted.ends_with('/') {
                path.starts_with(wanted)
            } else {
                path == wanted
            };
            if !covered {
                return false;
            }
        }
        true
    }
}

impl Policy {
    /// Reads a stored policy: unknown fields, bad severities and unparseable dates are
    /// errors naming the field (`allowlist[1].expires_at`), then [`Policy::validate`].
    /// Missing fields take their defaults; entries that have expired are kept (they simply
    /// no longer apply).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let policy: Policy = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            Error::InvalidPolicy {
                field: error_path(&e).unwrap_or_else(|| "policy".to_owned()),
                why: e.inner().to_string(),
            }
        })?;
        deserializer.end().map_err(|e| Error::InvalidPolicy {
            field: "policy".to_owned(),
            why: e.to_string(),
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks what the types do not: every allowlist entry names a rule and gives a reason,
    /// `package` and `path` are not blank when set, and `path` is absolute (finding paths
    /// are absolute inside the image).
    pub fn validate(&self) -> Result<(), Error> {
        for (index, entry) in self.allowlist.iter().enumerate() {
            let invalid = |field: &str, why: &str| Error::InvalidPolicy {
                field: format!("allowlist[{index}].{field}"),
                why: why.to_owned(),
            };
            if entry.rule.trim().is_empty() {
                return Err(invalid(
                    "rule",
                    "is empty; name the finding's rule, e.g. CVE-2023-4911",
                ));
            }
            if entry.reason.trim().is_empty() {
                return Err(invalid("reason", "is empty; say why the risk is accepted"));
            }
            if entry
                .package
                .as_deref()
                .is_some_and(|p| p.trim().is_empty())
            {
                return Err(invalid(
                    "package",
                    "is empty; omit it to cover every package",
                ));
            }
            match entry.path.as_deref().map(str::trim) {
                Some("") => return Err(invalid("path", "is empty; omit it to cover every path")),
                Some(path) if !path.starts_with('/') => {
                    return Err(invalid(
                        "path",
                        "must be absolute inside the image, e.g. /opt/app/",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The verdict on one scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// No finding blocks.
    pub passed: bool,
    pub blocking: Vec<Blocking>,
    /// Findings that would block but an active allowlist entry accepts.
    pub allowed: Vec<(Finding, AllowEntry)>,
}

/// A finding that blocks, and why; its `Display` is one sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocking {
    pub finding: Finding,
    pub reason: BlockReason,
    /// An entry that covered the finding but has expired, so the sentence can say so.
    pub expired_allowance: Option<AllowEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    Secret,
    /// The severity is in `block_severities_always`.
    SeverityAlways,
    /// The severity is in `block_with_fix` and a fixed version exists.
    FixAvailable,
}

impl Decision {
    /// One sentence per blocking finding.
    pub fn reasons(&self) -> Vec<String> {
        self.blocking.iter().map(ToString::to_string).collect()
    }
}

/// Applies `policy` to `findings` at time `now`.
pub fn evaluate(policy: &Policy, findings: &[Finding], now: DateTime<Utc>) -> Decision {
    let mut blocking = Vec::new();
    let mut allowed = Vec::new();
    for finding in findings {
        let Some(reason) = block_reason(policy, finding) else {
            continue;
        };
        let covering = policy
            .allowlist
            .iter()
            .filter(|entry| entry.covers(finding));
        let (active, expired): (Vec<&AllowEntry>, Vec<&AllowEntry>) =
            covering.partition(|entry| entry.is_active(now));
        // Of several entries, the one that lasts longest is the one that matters.
        if let Some(entry) = active.into_iter().max_by_key(|entry| entry.expires_at) {
            allowed.push((finding.clone(), entry.clone()));
        } else {
            blocking.push(Blocking {
                finding: finding.clone(),
                reason,
                expired_allowance: expired.into_iter().max_by_key(|e| e.expires_at).cloned(),
            });
        }
    }
    Decision {
        passed: blocking.is_empty(),
        blocking,
        allowed,
    }
}

fn block_reason(policy: &Policy, finding: &Finding) -> Option<BlockReason> {
    match finding.kind {
        FindingKind::Secret => policy.block_secrets.then_some(BlockReason::Secret),
        FindingKind::Review => None,
        FindingKind::Misconfiguration => policy
            .block_severities_always
            .contains(&finding.severity)
            .then_some(BlockReason::SeverityAlways),
        FindingKind::Vulnerability => {
            if policy.block_severities_always.contains(&finding.severity) {
                Some(BlockReason::SeverityAlways)
            } else if finding.fixed_version.is_some()
                && policy.block_with_fix.contains(&finding.severity)
            {
                Some(BlockReason::FixAvailable)
            } else {
                None
            }
        }
    }
}

impl fmt::Display for Blocking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finding = &self.finding;
        let severity = severity_label(finding.severity);
        write!(f, "{} ({severity})", finding.rule)?;
        match (&finding.package, &finding.path) {
            (Some(package), _) => write!(f, " in {} {}", package.name, package.version)?,
            (None, Some(path)) => write!(f, " at {path}")?,
            (None, None) => {}
        }
        match self.reason {
            BlockReason::Secret => write!(f, " blocks: the policy blocks every secret")?,
            BlockReason::SeverityAlways => {
                let what = match finding.kind {
                    FindingKind::Misconfiguration => "misconfiguration",
                    _ => "vulnerability",
                };
                write!(
                    f,
                    " blocks: the policy blocks every {severity} {what}, fixed or not"
                )?;
            }
            BlockReason::FixAvailable => {
                let fixed = finding.fixed_version.as_deref().unwrap_or_default();
                write!(
                    f,
                    " blocks: the policy blocks {severity} vulnerabilities that have a fix, \
                     and {fixed} fixes it"
                )?;
            }
        }
        if let Some(entry) = &self.expired_allowance {
            write!(
                f,
                " (its allowlist entry expired at {})",
                entry.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            )?;
        }
        f.write_str(".")
    }
}
