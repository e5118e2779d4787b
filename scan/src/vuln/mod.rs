//! Vulnerabilities: OSV advisories read from a bulk download, matched against the installed
//! packages in each ecosystem's own version ordering, and the policy that decides whether a
//! scan blocks.
//!
//! - [`osv`]: the OSV record ([`Advisory`]), its rule id and index keys.
//! - [`source`]: `keynet vulndb import <path>`, a zip or a folder read record by record.
//! - [`ordering`]: OSV ecosystem names, PEP 503 names, Debian/Alpine/PyPI version ordering.
//! - [`matching`]: [`match_packages`], findings plus what could not be evaluated.
//! - [`severity`]: CVSS v3/v4 base scores, database ratings, Debian urgency.
//! - [`policy`]: [`policy::evaluate`], the decision and one sentence per blocking finding.
//!
//! Rule ids: a finding's `rule` is the CVE when the advisory is about exactly one CVE (its
//! id, alias or upstream id), else the advisory's id; see [`Advisory::rule_id`].
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use keynet_scan::vuln::{self, policy, Advisory, AdvisorySource};
//! use keynet_scan::{Ecosystem, OsRelease, Package};
//!
//! // Import: store each record under its index keys (errors per record are recoverable).
//! # let dir = tempfile::tempdir()?;
//! # std::fs::write(dir.path().join("DSA-5514-1.json"), r#"{"id": "DSA-5514-1",
//! #   "modified": "2023-10-03T18:00:00Z", "upstream": ["CVE-2023-4911"],
//! #   "summary": "glibc: buffer overflow in ld.so (Looney Tunables)",
//! #   "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
//! #     "ecosystem_specific": {"urgency": "high"},
//! #     "ranges": [{"type": "ECOSYSTEM",
//! #                 "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}]}]}"#)?;
//! let mut stored: Vec<((String, String), Advisory)> = Vec::new();
//! let mut source = AdvisorySource::open(dir.path())?;
//! for record in source.records() {
//!     match record? {
//!         Ok(record) => {
//!             for key in record.advisory.index_keys() {
//!                 stored.push((key, record.advisory.clone()));
//!             }
//!         }
//!         Err(broken) => eprintln!("skipped: {broken}"),
//!     }
//! }
//!
//! // Scan: look advisories up by (OSV ecosystem, name).
//! let os = OsRelease { id: "debian".into(), version_id: Some("12".into()), pretty_name: None };
//! let libc6 = Package {
//!     ecosystem: Ecosystem::Debian,
//!     name: "libc6".into(),
//!     version: "2.36-9+deb12u1".into(),
//!     source: Some("glibc".into()),
//!     path: "/var/lib/dpkg/status".into(),
//!     layer: None,
//! };
//! let outcome = vuln::match_packages(&[libc6], Some(&os), |ecosystem, name| {
//!     stored
//!         .iter()
//!         .filter(|((e, n), _)| e == ecosystem && n == name)
//!         .map(|(_, advisory)| advisory.clone())
//!         .collect()
//! });
//! assert_eq!(outcome.findings[0].rule, "CVE-2023-4911");
//! assert_eq!(outcome.findings[0].fixed_version.as_deref(), Some("2.36-9+deb12u3"));
//!
//! // Decide.
//! let policy = policy::Policy::from_json(r#"{"block_with_fix": ["CRITICAL", "HIGH"]}"#)?;
//! let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! let decision = policy::evaluate(&policy, &outcome.findings, now);
//! assert!(!decision.passed);
//! assert_eq!(
//!     decision.reasons(),
//!     ["CVE-2023-4911 (High) in libc6 2.36-9+deb12u1 blocks: the policy blocks High \
//!       vulnerabilities that have a fix, and 2.36-9+deb12u3 fixes it."]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod matching;
pub mod ordering;
pub mod osv;
pub mod policy;
pub mod severity;
pub mod source;

pub use matching::{MatchOutcome, Unevaluated, UnevaluatedReason, lookup_keys, match_packages};
pub use osv::Advisory;
pub use source::{AdvisorySource, Record};
