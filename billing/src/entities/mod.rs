//! sea-orm entities of the billing tables (migrations `m20261204_000012_billing` and
//! `m20261207_000013_billing_plan_history`).

pub mod billing_accounts;
pub mod billing_plan_changes;
pub mod invoice_lines;
pub mod invoices;
pub mod stripe_events;
pub mod usage_events;
pub mod usage_thresholds;
