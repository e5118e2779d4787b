//! One thing the scan reports: a vulnerable package, a secret, a misconfiguration or a file
//! that needs a human review.

use crate::package::Ecosystem;
use serde::{Deserialize, Serialize};

/// Ordered from least to most severe, so `max()` is the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Vulnerability,
    Secret,
    Misconfiguration,
    /// Not wrong in itself, but a reviewer must look (e.g. pickled model files, which run
    /// code when loaded).
    Review,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Stable id of what was found: the advisory id (`CVE-2023-4911`, `GHSA-…`) for a
    /// vulnerability, the rule (`secret.private-key`, `misconfig.setuid`…) otherwise.
    /// Policy allowlists name it.
    pub rule: String,
    pub severity: Severity,
    /// One line, for lists.
    pub title: String,
    /// What exactly, where, and what to do.
    pub message: String,
    /// The file concerned, absolute inside the image.
    pub path: Option<String>,
    /// Digest of the layer that holds it.
    pub layer: Option<String>,
    pub package: Option<PackageRef>,
    /// The first version that fixes a vulnerability, when the advisory names one.
    pub fixed_version: Option<String>,
}
