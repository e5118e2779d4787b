//! Security scan of container images, pure and synchronous: no database, no network.
//!
//! - [`layers`] reads one layer (a tar stream, compressed or not) into an index of its
//!   files, refusing hostile archives, and inspects the files that matter on the way;
//!   the result of one layer is cached by its digest by the caller.
//! - [`inventory`] recognises the OS and the installed packages (dpkg, apk, Python).
//! - [`findings`] finds secrets, misconfiguration and files that need a review.
//! - [`report`] merges the layers in order (whiteouts applied) into one [`report::ImageScan`]
//!   and renders it as CycloneDX 1.5 and SARIF 2.1.0.
//! - [`vuln`] reads OSV advisories and matches packages with each ecosystem's own version
//!   ordering; [`vuln::policy`] decides whether a scan blocks a trainer version.

pub mod error;
pub mod finding;
pub mod findings;
pub mod inventory;
pub mod layers;
pub mod package;
pub mod report;
pub mod vuln;

pub use error::Error;
pub use finding::{Finding, FindingKind, Severity};
pub use layers::{LayerScan, Limits, scan_layer};
pub use package::{Ecosystem, OsRelease, Package};
pub use report::{ImageConfig, ImageScan, merge};
