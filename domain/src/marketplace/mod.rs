//! The trainer marketplace: trainers that authors create and push images to (through the
//! registry), the checks every pushed version goes through (validation, security scan),
//! and the vulnerability database the scan uses; the public listing of published trainers,
//! their ratings, and the usage other organizations make of them.

mod archive;
pub(crate) mod catalog;
mod checks;
mod compliance;
mod image_archive;
mod listing;
mod policy;
mod pushes;
mod ratings;
mod scanning;
mod uploads;
mod usage;
pub mod validation;
mod vulndb;

pub use catalog::NewTrainer;
pub use checks::CHECK_TRAINER_VERSION;
pub use listing::{MarketplaceFilter, MarketplaceSort};
pub use ratings::{NewRating, RatingSummary};
pub use scanning::{ReportFormat, ScanReport};
pub(crate) use uploads::UploadGrant;
pub use uploads::{UPLOAD_KEY_MARK, UploadRequest, UploadTicket};
pub use usage::{TrainerUsage, UsageFigures, VersionUsage};
pub use vulndb::VulnImport;
