//! Database migrations. Every migration runs on both SQLite (the embedded default) and
//! PostgreSQL, so only column types that sea-query maps on both are used.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261122_000001_identity;
mod m20261122_000002_tasks;
mod m20261122_000003_datasets;
mod m20261122_000004_jobs;
mod m20261122_000005_blob_use;
mod m20261122_000006_inference_uploads;
mod m20261122_000007_task_claim_indexes;
mod m20261122_000008_registry;
mod m20261204_000009_trainer_checks;
mod m20261204_000010_marketplace_listing;
mod m20261204_000011_scan_policies;
mod m20261204_000012_billing;
mod m20261207_000013_billing_plan_history;
mod m20261207_000014_job_idempotency;
mod m20261207_000015_dataset_last_import;
mod m20261207_000016_deployments;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identity::Migration),
            Box::new(m20261122_000002_tasks::Migration),
            Box::new(m20261122_000003_datasets::Migration),
            Box::new(m20261122_000004_jobs::Migration),
            Box::new(m20261122_000005_blob_use::Migration),
            Box::new(m20261122_000006_inference_uploads::Migration),
            Box::new(m20261122_000007_task_claim_indexes::Migration),
            Box::new(m20261122_000008_registry::Migration),
            Box::new(m20261204_000009_trainer_checks::Migration),
            Box::new(m20261204_000010_marketplace_listing::Migration),
            Box::new(m20261204_000011_scan_policies::Migration),
            Box::new(m20261204_000012_billing::Migration),
            Box::new(m20261207_000013_billing_plan_history::Migration),
            Box::new(m20261207_000014_job_idempotency::Migration),
            Box::new(m20261207_000015_dataset_last_import::Migration),
            Box::new(m20261207_000016_deployments::Migration),
        ]
    }
}
