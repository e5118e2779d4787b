//! Stripe, when `billing.stripe` is configured: each organization a Stripe customer (made on
//! first need), the ledger's usage sent as meter events, Stripe's meter totals compared with
//! the ledger, the billing portal, and signed webhooks that move the account's status. The
//! ledger stays the source of truth; without Stripe none of this runs.

mod client;
mod customers;
pub mod entities;
mod meter_events;
mod portal;
mod reconcile;
mod signature;
mod webhooks;

pub use meter_events::PushReport;
pub use reconcile::Drift;
pub use webhooks::WebhookOutcome;

use crate::config::{MeterEventNames, StripeConfig};
use crate::error::{Error, Result};
use crate::meters::Meter;
use crate::service::Billing;

impl Billing {
    fn stripe_config(&self) -> Result<&StripeConfig> {
        self.config()
            .stripe
            .as_ref()
            .ok_or(Error::StripeNotConfigured)
    }

    /// Whether Stripe is configured (the workers only sync when it is).
    pub fn stripe_enabled(&self) -> bool {
        self.config().stripe.is_some()
    }
}

/// The `event_name` of Stripe's meter for `meter`.
fn event_name(names: &MeterEventNames, meter: Meter) -> &str {
    match meter {
        Meter::GpuSeconds => &names.gpu_seconds,
        Meter::CpuSeconds => &names.cpu_seconds,
        Meter::InferenceRequests => &names.inference_requests,
    }
}
