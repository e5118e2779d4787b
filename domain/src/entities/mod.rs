//! sea-orm entities, one module per table, kept apart from the behaviour that uses them.

pub mod api_tokens;
pub mod audit_log;
pub mod blobs;
pub mod dataset_import_errors;
pub mod dataset_snapshots;
pub mod dataset_uploads;
pub mod datasets;
pub mod experiment_notes;
pub mod experiment_stars;
pub mod experiments;
pub mod invitations;
pub mod login_throttle;
pub mod memberships;
pub mod organizations;
pub mod projects;
pub mod refresh_tokens;
pub mod tasks;
pub mod user_tokens;
pub mod users;
