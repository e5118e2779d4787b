//! sea-orm entities of the marketplace's own tables, one module per table.

pub mod registry_blob_links;
pub mod registry_blobs;
pub mod registry_manifests;
pub mod registry_tags;
pub mod registry_uploads;
pub mod scan_layers;
pub mod scan_policies;
pub mod trainer_ratings;
pub mod trainer_upload_keys;
pub mod vuln_advisories;
pub mod vuln_affected;
