//! The trainer marketplace: trainers that authors create and push images to (through the
//! registry), the checks every pushed version goes through (validation, security scan),
//! and the vulnerability database the scan uses.

pub(crate) mod catalog;
mod checks;
mod pushes;
mod scanning;
mod uploads;
pub mod validation;
mod vulndb;

pub use catalog::NewTrainer;
pub use checks::CHECK_TRAINER_VERSION;
pub use scanning::ScanReport;
pub(crate) use uploads::UploadGrant;
pub use uploads::{UPLOAD_KEY_MARK, UploadRequest, UploadTicket};
pub use vulndb::VulnImport;
