//! The calls Keynet makes to Stripe's API, through async-stripe. Errors carry Stripe's
//! message and status, never the secret key.

use crate::config::StripeConfig;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use keynet_domain::ids::OrgId;
use std::collections::HashMap;
use std::time::Duration;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_billing::billing_meter::ListBillingMeter;
use stripe_billing::billing_meter_event::CreateBillingMeterEvent;
use stripe_billing::billing_meter_event_summary::ListIdBillingMeterEventSummary;
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_core::customer::CreateCustomer;

/// Per attempt; a round that times out is retried by the next one.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct StripeApi {
    client: Client,
}

/// One meter event as Stripe takes it.
pub(crate) struct MeterEvent<'a> {
    pub event_name: &'a str,
    pub customer: &'a str,
    pub value: i64,
    /// Stripe keeps one event per identifier, so a resend after a lost answer counts once.
    pub identifier: &'a str,
    pub timestamp: DateTime<Utc>,
}

impl StripeApi {
    pub fn new(config: &StripeConfig) -> Result<Self> {
        install_crypto_provider();
        // async-stripe joins the base and `v1/…` without a separator.
        let mut base = config.api_base.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = ClientBuilder::new(config.secret_key.as_str())
            .url(base)
            .timeout(TIMEOUT)
            .build()
            .map_err(stripe_error)?;
        Ok(Self { client })
    }

    /// The Idempotency-Key derives from the organization, so a retry after a lost answer
    /// gets the same customer back instead of a second one.
    pub async fn create_customer(&self, org: OrgId, name: &str, slug: &str) -> Result<String> {
        let metadata = HashMap::from([
            ("org_id".to_string(), org.to_string()),
            ("org_slug".to_string(), slug.to_string()),
        ]);
        let customer = CreateCustomer::new()
            .name(name)
            .metadata(metadata)
            .customize()
            .request_strategy(idempotent(&format!("keynet-customer-{org}"))?)
            .send(&self.client)
            .await
            .map_err(stripe_error)?;
        Ok(customer.id.as_str().to_string())
    }

    pub async fn send_meter_event(&self, event: &MeterEvent<'_>) -> Result<()> {
        let payload = HashMap::from([
            ("stripe_customer_id".to_string(), event.customer.to_string()),
            ("value".to_string(), event.value.to_string()),
        ]);
        CreateBillingMeterEvent::new(event.event_name, payload)
            .identifier(event.identifier)
            .timestamp(event.timestamp.timestamp())
            .customize()
            .request_strategy(idempotent(&format!("keynet-meter-{}", event.identifier))?)
            .send(&self.client)
            .await
            .map_err(stripe_error)?;
        Ok(())
    }

    /// The id of each meter by its event name.
    pub async fn meters(&self) -> Result<HashMap<String, String>> {
        ListBillingMeter::new()
            .limit(100)
            .paginate()
            .stream(&self.client)
            .map_ok(|meter| (meter.event_name, meter.id.as_str().to_string()))
            .try_collect()
            .await
            .map_err(stripe_error)
    }

    /// The customer's total of the meter over `[start, end)` (minute boundaries).
    pub async fn meter_total(
        &self,
        meter_id: &str,
        customer: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<f64> {
        ListIdBillingMeterEventSummary::new(meter_id, customer, end.timestamp(), start.timestamp())
            .limit(100)
            .paginate()
            .stream(&self.client)
            .try_fold(0.0, |total, summary| async move {
                Ok(total + summary.aggregated_value)
            })
            .await
            .map_err(stripe_error)
    }

    /// A billing portal session's URL.
    pub async fn portal_session(&self, customer: &str, return_url: &str) -> Result<String> {
        let session = CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url)
            .send(&self.client)
            .await
            .map_err(stripe_error)?;
        Ok(session.url)
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy> {
    let key =
        IdempotencyKey::new(key).map_err(|e| Error::Stripe(format!("bad idempotency key: {e}")))?;
    Ok(RequestStrategy::Idempotent(key))
}

/// Both ring and aws-lc-rs are compiled in (reqwest, the S3 client), so rustls cannot
/// choose a process-wide provider by itself, and async-stripe's connector asks for that
/// default. Installing one that is already installed fails harmlessly.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn stripe_error(error: StripeError) -> Error {
    Error::Stripe(match error {
        StripeError::Stripe(api, status) => format!(
            "HTTP {status}: {}",
            api.message
                .as_deref()
                .unwrap_or("Stripe refused the request without a message")
        ),
        other => other.to_string(),
    })
}
