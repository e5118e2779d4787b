//! A local stand-in for Stripe's API: records every request (method, path, form or query,
//! the headers that matter) and answers the calls Keynet makes as Stripe does, with the
//! fields Stripe sends. The meter list comes in pages of two, so the client's paging runs.
//! Customers are kept per Idempotency-Key, as Stripe keeps an idempotent request's answer;
//! meter summaries add up the meter events it received.

use actix_web::{HttpRequest, HttpResponse, web};
use keynet_testkit::stub::StubServer;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The meters the stub's Stripe account has: id and event name (Keynet's defaults).
pub const METERS: [(&str, &str); 3] = [
    ("mtr_gpu", "keynet_gpu_seconds"),
    ("mtr_cpu", "keynet_cpu_seconds"),
    ("mtr_inference", "keynet_inference_requests"),
];

/// Fewer than [`METERS`], so listing them takes more than one page.
const METER_PAGE: usize = 2;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The form body's fields, or the query's for a GET.
    pub params: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub stripe_version: Option<String>,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct MeterEvent {
    pub event_name: String,
    pub identifier: String,
    pub customer: String,
    pub value: i64,
    pub timestamp: i64,
}

#[derive(Default)]
pub struct State {
    pub requests: Vec<Recorded>,
    /// Accepted meter events, one per identifier.
    pub meter_events: Vec<MeterEvent>,
    /// Answer meter events with a 500.
    pub fail_meter_events: bool,
    /// Added to the summaries of a meter (by id): Stripe disagreeing with the ledger.
    pub summary_offset: HashMap<String, f64>,
    customers: HashMap<String, Value>,
    sessions: usize,
}

pub struct Stub {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: StubServer,
}

impl Stub {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = web::Data::new(state.clone());
        let server = StubServer::start(move |app| {
            app.app_data(shared.clone())
                .default_service(web::to(answer));
        });
        Self {
            url: format!("{}/", server.url),
            state,
            server,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The requests to `path` with `method`, in order.
    pub fn requests(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .cloned()
            .collect()
    }

    pub fn meter_events(&self) -> Vec<MeterEvent> {
        self.state().meter_events.clone()
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let encoded = if req.method() == actix_web::http::Method::GET {
        req.query_string().to_string()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let params = web::Query::<Vec<(String, String)>>::from_query(&encoded)
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let recorded = Recorded {
        method: req.method().to_string(),
        path: req.path().to_string(),
        params,
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
        stripe_version: header("stripe-version"),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(recorded.clone());
    let path: Vec<&str> = recorded.path.trim_matches('/').split('/').collect();
    match (recorded.method.as_str(), path.as_slice()) {
        ("POST", ["v1", "customers"]) => customer(&mut state, &recorded),
        ("POST", ["v1", "billing", "meter_events"]) => meter_event(&mut state, &recorded),
        ("GET", ["v1", "billing", "meters"]) => meters_page(&recorded),
        ("GET", ["v1", "billing", "meters", id, "event_summaries"]) => {
            summary(&state, id, &recorded)
        }
        ("POST", ["v1", "billing_portal", "sessions"]) => {
            state.sessions += 1;
            let id = format!("bps_{}", state.sessions);
            HttpResponse::Ok().json(json!({
                "id": id,
                "object": "billing_portal.session",
                "configuration": "bpc_stub",
                "created": chrono::Utc::now().timestamp(),
                "customer": recorded.param("customer"),
                "livemode": false,
                "return_url": recorded.param("return_url"),
                "url": format!("https://billing.stripe.test/p/session/{id}"),
            }))
        }
        _ => error(404, "invalid_request_error", "unknown endpoint in the stub"),
    }
}

fn customer(state: &mut State, request: &Recorded) -> HttpResponse {
    let key = request.idempotency_key.clone().unwrap_or_default();
    let count = state.customers.len() + 1;
    let customer = state
        .customers
        .entry(key)
        .or_insert_with(|| {
            json!({
                "id": format!("cus_stub{count}"),
                "object": "customer",
                "created": chrono::Utc::now().timestamp(),
                "livemode": false,
                "name": request.param("name"),
                "metadata": {"org_id": request.param("metadata[org_id]")},
            })
        })
        .clone();
    HttpResponse::Ok().json(customer)
}

fn meter_event(state: &mut State, request: &Recorded) -> HttpResponse {
    if state.fail_meter_events {
        return error(500, "api_error", "the stub is failing meter events");
    }
    let param = |name| request.param(name).unwrap_or_default().to_string();
    let event = MeterEvent {
        event_name: param("event_name"),
        identifier: param("identifier"),
        customer: param("payload[stripe_customer_id]"),
        value: param("payload[value]").parse().unwrap_or(-1),
        timestamp: param("timestamp").parse().unwrap_or(-1),
    };
    // Stripe keeps one event per identifier.
    if !state
        .meter_events
        .iter()
        .any(|e| e.identifier == event.identifier)
    {
        state.meter_events.push(event.clone());
    }
    HttpResponse::Ok().json(json!({
        "object": "billing.meter_event",
        "created": chrono::Utc::now().timestamp(),
        "event_name": event.event_name,
        "identifier": event.identifier,
        "livemode": false,
        "payload": {"stripe_customer_id": event.customer, "value": event.value.to_string()},
        "timestamp": event.timestamp,
    }))
}

fn summary(state: &State, meter_id: &str, request: &Recorded) -> HttpResponse {
    let Some((_, event_name)) = METERS.iter().find(|(id, _)| *id == meter_id) else {
        return error(404, "invalid_request_error", "no such meter");
    };
    let customer = request.param("customer").unwrap_or_default();
    let number = |name| {
        request
            .param(name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let (start, end) = (number("start_time"), number("end_time"));
    if start % 60 != 0 || end % 60 != 0 {
        return error(
            400,
            "invalid_request_error",
            "start_time and end_time must be aligned with minute boundaries",
        );
    }
    let total: i64 = state
        .meter_events
        .iter()
        .filter(|e| e.event_name == *event_name && e.customer == customer)
        .filter(|e| (start..end).contains(&e.timestamp))
        .map(|e| e.value)
        .sum();
    let value = total as f64 + state.summary_offset.get(meter_id).copied().unwrap_or(0.0);
    HttpResponse::Ok().json(list(
        &format!("/v1/billing/meters/{meter_id}/event_summaries"),
        vec![json!({
            "id": format!("mtrusg_{meter_id}_{start}"),
            "object": "billing.meter_event_summary",
            "aggregated_value": value,
            "start_time": start,
            "end_time": end,
            "livemode": false,
            "meter": meter_id,
        })],
    ))
}

/// The meters after `starting_after`, at most [`METER_PAGE`] of them.
fn meters_page(request: &Recorded) -> HttpResponse {
    let start = match request.param("starting_after") {
        None => 0,
        Some(after) => match METERS.iter().position(|(id, _)| *id == after) {
            Some(index) => index + 1,
            None => return error(400, "invalid_request_error", "no such meter to start after"),
        },
    };
    let rest = &METERS[start..];
    let page = &rest[..rest.len().min(METER_PAGE)];
    let mut body = list(
        "/v1/billing/meters",
        page.iter().map(|(id, name)| meter(id, name)).collect(),
    );
    body["has_more"] = json!(rest.len() > page.len());
    HttpResponse::Ok().json(body)
}

fn meter(id: &str, event_name: &str) -> Value {
    json!({
        "id": id,
        "object": "billing.meter",
        "created": 1_700_000_000,
        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
        "default_aggregation": {"formula": "sum"},
        "display_name": event_name,
        "event_name": event_name,
        "livemode": false,
        "status": "active",
        "status_transitions": {"deactivated_at": null},
        "updated": 1_700_000_000,
        "value_settings": {"event_payload_key": "value"},
    })
}

fn list(url: &str, data: Vec<Value>) -> Value {
    json!({"object": "list", "url": url, "has_more": false, "data": data})
}

fn error(status: u16, kind: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"error": {"type": kind, "message": message}}))
}
