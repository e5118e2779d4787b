//! Billing: the usage ledger (GPU-seconds, CPU-seconds, inference requests, each fact once
//! by its idempotency key), plans and quotas enforced before a job is queued, invoices
//! drafted from the ledger at each period's end, and the marketplace authors' earnings.
//! The ledger is the source of truth; Stripe, when configured, is one sink for it.

pub mod accounts;
pub mod admission;
pub mod config;
pub mod earnings;
pub mod endpoints;
pub mod entities;
pub mod error;
pub mod invoices;
pub mod ledger;
pub mod metering;
pub mod meters;
pub mod periods;
pub mod plan_history;
pub mod plans;
pub mod service;
pub mod stripe;
pub mod thresholds;
pub mod totals;
pub mod usage;

pub use admission::BillingHook;
pub use config::BillingConfig;
pub use error::{Error, Result};
pub use service::{AccountView, Billing};
