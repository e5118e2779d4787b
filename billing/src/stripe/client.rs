//! The five calls Keynet makes to Stripe's API, on `reqwest`: create a customer, send a
//! meter event, list the meters, total a meter's event summaries, open a portal session.
//!
//! Why not async-stripe: its generated crates cost four to five minutes of a cold build
//! (bench/README.md, "Cold build of the server") for these five calls. Stripe's API is form
//! posts and paged JSON lists; this module pins the API version the answers are read
//! with, and reads only the fields Keynet uses. Errors carry Stripe's message and status,
//! never the secret key.

use crate::config::StripeConfig;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use keynet_domain::ids::OrgId;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use std::collections::HashMap;
use std::time::Duration;

/// The API version the answers below are read with (Stripe otherwise answers with the
/// account's default version, which its owner may change).
const API_VERSION: &str = "2026-09-30.endive";
/// Per attempt; a round that times out is retried by the next one.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Stripe's largest page.
const PAGE_SIZE: &str = "100";
/// Stripe refuses longer idempotency keys.
const MAX_IDEMPOTENCY_KEY: usize = 255;

#[derive(Clone)]
pub(crate) struct StripeApi {
    http: Client,
    /// Ends with `/`; paths are joined as `v1/…`.
    base: String,
    secret_key: String,
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

/// Form fields, in Stripe's bracket notation for nested ones (`metadata[org_id]`).
type Form<'a> = Vec<(&'a str, String)>;

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct PortalSession {
    url: String,
}

#[derive(Deserialize)]
struct Meter {
    id: String,
    event_name: String,
}

#[derive(Deserialize)]
struct EventSummary {
    id: String,
    aggregated_value: f64,
}

/// A page of one of Stripe's lists.
#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    has_more: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    message: Option<String>,
}

impl StripeApi {
    pub fn new(config: &StripeConfig) -> Result<Self> {
        let http = Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("keynet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Stripe(format!("cannot build the HTTP client: {e}")))?;
        let mut base = config.api_base.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            http,
            base,
            secret_key: config.secret_key.clone(),
        })
    }

    /// The Idempotency-Key derives from the organization, so a retry after a lost answer
    /// gets the same customer back instead of a second one.
    pub async fn create_customer(&self, org: OrgId, name: &str, slug: &str) -> Result<String> {
        let form = vec![
            ("name", name.to_string()),
            ("metadata[org_id]", org.to_string()),
            ("metadata[org_slug]", slug.to_string()),
        ];
        let key = format!("keynet-customer-{org}");
        let customer: Created = self.post("v1/customers", &form, Some(&key)).await?;
        Ok(customer.id)
    }

    pub async fn send_meter_event(&self, event: &MeterEvent<'_>) -> Result<()> {
        let form = vec![
            ("event_name", event.event_name.to_string()),
            ("identifier", event.identifier.to_string()),
            ("timestamp", event.timestamp.timestamp().to_string()),
            ("payload[stripe_customer_id]", event.customer.to_string()),
            ("payload[value]", event.value.to_string()),
        ];
        let key = format!("keynet-meter-{}", event.identifier);
        // A meter event has no id; its answer only says it was taken.
        let _: IgnoredAny = self
            .post("v1/billing/meter_events", &form, Some(&key))
            .await?;
        Ok(())
    }

    /// The id of each meter by its event name.
    pub async fn meters(&self) -> Result<HashMap<String, String>> {
        let meters: Vec<Meter> = self
            .list("v1/billing/meters", Vec::new(), |meter: &Meter| &meter.id)
            .await?;
        Ok(meters
            .into_iter()
            .map(|meter| (meter.event_name, meter.id))
            .collect())
    }

    /// The customer's total of the meter over `[start, end)` (minute boundaries).
    pub async fn meter_total(
        &self,
        meter_id: &str,
        customer: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<f64> {
        let query = vec![
            ("customer", customer.to_string()),
            ("start_time", start.timestamp().to_string()),
            ("end_time", end.timestamp().to_string()),
        ];
        let path = format!("v1/billing/meters/{meter_id}/event_summaries");
        let summaries: Vec<EventSummary> = self
            .list(&path, query, |summary: &EventSummary| &summary.id)
            .await?;
        Ok(summaries.iter().map(|s| s.aggregated_value).sum())
    }

    /// A billing portal session's URL.
    pub async fn portal_session(&self, customer: &str, return_url: &str) -> Result<String> {
        let form = vec![
            ("customer", customer.to_string()),
            ("return_url", return_url.to_string()),
        ];
        let session: PortalSession = self.post("v1/billing_portal/sessions", &form, None).await?;
        Ok(session.url)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form<'_>,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let mut request = self.request(reqwest::Method::POST, path).form(form);
        if let Some(key) = idempotency_key {
            if key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(Error::Stripe(format!(
                    "bad idempotency key: {} characters (at most {MAX_IDEMPOTENCY_KEY})",
                    key.len()
                )));
            }
            request = request.header("Idempotency-Key", key);
        }
        send(request).await
    }

    /// Every item of a list, page after page: each next page starts after the last item
    /// of the one before.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Form<'_>,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut page_query = query.clone();
            page_query.push(("limit", PAGE_SIZE.to_string()));
            if let Some(after) = after.take() {
                page_query.push(("starting_after", after));
            }
            let request = self.request(reqwest::Method::GET, path).query(&page_query);
            let page: Page<T> = send(request).await?;
            let more = page.has_more;
            items.extend(page.data);
            match items.last() {
                Some(last) if more => after = Some(id_of(last).to_string()),
                _ => return Ok(items),
            }
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .header("Stripe-Version", API_VERSION)
    }
}

/// Sends the request and reads the answer: the JSON it asks for on a 2xx, Stripe's error
/// message and the status otherwise.
async fn send<T: DeserializeOwned>(request: RequestBuilder) -> Result<T> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport_error)?;
    if !status.is_success() {
        return Err(refused(status, &body));
    }
    serde_json::from_slice(&body)
        .map_err(|e| Error::Stripe(format!("HTTP {status}: an answer Keynet cannot read ({e})")))
}

fn refused(status: StatusCode, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.error.message);
    Error::Stripe(format!(
        "HTTP {status}: {}",
        message
            .as_deref()
            .unwrap_or("Stripe refused the request without a message")
    ))
}

/// reqwest's error names the URL (the API base, no secret: the key travels in a header).
fn transport_error(error: reqwest::Error) -> Error {
    Error::Stripe(format!("cannot reach Stripe: {error}"))
}
