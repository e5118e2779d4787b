//! The trainer marketplace: trainers that authors create and push images to (through the
//! registry), the checks every pushed version goes through (validation, security scan),
//! and the vulnerability database the scan uses; the public listing of published trainers,
//! their ratings, and the usage other organizations make of them.
//!
//! It builds on the domain (organizations, roles, trainers and versions, jobs) and reaches
//! into it only through its public API; the domain knows nothing of it, and hears from it
//! only through the [`Catalog`] hook its jobs call.

mod archive;
mod catalog;
mod checks;
mod compliance;
pub mod entities;
mod error;
mod image_archive;
mod listing;
mod lists;
mod marketplace;
mod policy;
mod pushes;
mod ratings;
pub mod registry;
mod scanning;
mod uploads;
mod usage;
pub mod validation;
mod vulndb;

pub use catalog::NewTrainer;
pub use checks::CHECK_TRAINER_VERSION;
pub use error::{Error, Result};
pub use listing::{MarketplaceFilter, MarketplaceSort};
pub use lists::{marketplace_slug, visible_versions};
pub use marketplace::{Catalog, Marketplace};
pub use ratings::{NewRating, RatingSummary};
pub use scanning::{ReportFormat, ScanReport};
pub(crate) use uploads::UploadGrant;
pub use uploads::{UPLOAD_KEY_MARK, UploadRequest, UploadTicket};
pub use usage::{TrainerUsage, UsageFigures, VersionUsage};
pub use vulndb::VulnImport;
