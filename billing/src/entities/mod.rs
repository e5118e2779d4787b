//! sea-orm entities of the billing tables (migration `m20261204_000012_billing`).

pub mod billing_accounts;
pub mod invoice_lines;
pub mod invoices;
pub mod stripe_events;
pub mod usage_events;
pub mod usage_thresholds;
