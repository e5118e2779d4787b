//! Billing's settings (the `billing` section of the platform's configuration).

use crate::plans::{PlanName, Plans};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct BillingConfig {
    /// ISO currency code of every price and invoice (lower case, as Stripe spells it).
    pub currency: String,
    /// The plan of a new organization.
    pub default_plan: PlanName,
    pub plans: Plans,
    /// Days an organization may still start jobs after a payment failed.
    pub payment_grace_days: i64,
    /// The share of the revenue from other organizations' use of a public trainer that goes
    /// to its author, in percent.
    pub author_share_percent: i64,
    /// How often the workers look for periods to invoice and usage to send to Stripe.
    pub sync_interval_secs: u64,
    /// Stripe; without it everything works from the ledger alone.
    pub stripe: Option<StripeConfig>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            currency: "usd".into(),
            default_plan: PlanName::Free,
            plans: Plans::default(),
            payment_grace_days: 7,
            author_share_percent: 70,
            sync_interval_secs: 60,
            stripe: None,
        }
    }
}

/// `Debug` leaves the secrets out: settings may be printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct StripeConfig {
    /// `sk_…`. Never logged.
    pub secret_key: String,
    /// `whsec_…`: verifies `Stripe-Signature` on `POST /webhooks/stripe`. Never logged.
    pub webhook_secret: String,
    /// Stripe's API; tests point it at a local stub.
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// The `event_name` of Stripe's billing meter for each meter.
    #[serde(default = "default_meter_events")]
    pub meter_events: MeterEventNames,
    /// Where the billing portal sends the customer back.
    #[serde(default)]
    pub portal_return_url: Option<String>,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("meter_events", &self.meter_events)
            .field("portal_return_url", &self.portal_return_url)
            .finish()
    }
}

fn default_api_base() -> String {
    "https://api.stripe.com/".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MeterEventNames {
    pub gpu_seconds: String,
    pub cpu_seconds: String,
    pub inference_requests: String,
}

fn default_meter_events() -> MeterEventNames {
    MeterEventNames {
        gpu_seconds: "keynet_gpu_seconds".into(),
        cpu_seconds: "keynet_cpu_seconds".into(),
        inference_requests: "keynet_inference_requests".into(),
    }
}

impl BillingConfig {
    /// The key of a bad value, and why.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(("billing.currency", "three lower-case letters (e.g. usd)"));
        }
        if !(0..=100).contains(&self.author_share_percent) {
            return Err(("billing.author_share_percent", "must be between 0 and 100"));
        }
        if self.payment_grace_days < 0 {
            return Err(("billing.payment_grace_days", "must be 0 or more"));
        }
        if self.sync_interval_secs == 0 {
            return Err(("billing.sync_interval_secs", "must be at least 1"));
        }
        if let Some(stripe) = &self.stripe {
            if stripe.secret_key.is_empty() {
                return Err(("billing.stripe.secret_key", "must not be empty"));
            }
            if stripe.webhook_secret.is_empty() {
                return Err(("billing.stripe.webhook_secret", "must not be empty"));
            }
        }
        Ok(())
    }
}
