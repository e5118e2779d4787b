//! Stripe: customers made once on first need, the ledger's usage sent as meter events (once,
//! retried after a failure, credited usage never, too old usage refused), drift between
//! Stripe's meter totals and the ledger, the billing portal and its permissions, against a
//! local stub of Stripe's API that records every request. Webhooks are in `webhooks`.

mod stub;
mod webhooks;

use chrono::{DateTime, Duration, Utc};
use keynet_api::settings::Settings;
use keynet_billing::config::{MeterEventNames, StripeConfig};
use keynet_billing::entities::usage_events;
use keynet_billing::ledger::{self, Usage};
use keynet_billing::meters::Meter;
use keynet_billing::stripe::PushReport;
use keynet_billing::stripe::entities::stripe_meter_events::{self, Outcome};
use keynet_testkit::{Account, Backend, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use stub::Stub;

const SECRET_KEY: &str = "sk_test_keynet_stub";
const WEBHOOK_SECRET: &str = "whsec_keynet_test_secret";
const TEAM_PRICE: &str = "price_team_monthly";
const PORTAL: &str = "query($o: ID!) { billingPortalUrl(orgId: $o) }";
const ACCOUNT: &str = "query($o: ID!) { billingAccount(orgId: $o) { plan effectivePlan status paymentFailedAt graceEndsAt stripeCustomerId stripeDrift { meter ledgerQuantity stripeQuantity } } }";

/// Like `on_both_backends!`, each scenario `async fn name(app: &TestApp, stub: &Stub)` on a
/// platform whose `billing.stripe` points at a fresh stub, workers off (the tests run the
/// rounds) unless `where` changes the settings after.
macro_rules! with_stripe {
    (@adjust) => { |_: &mut keynet_api::settings::Settings| {} };
    (@adjust $adjust:expr) => { $adjust };
    ($($scenario:ident $(where $adjust:expr)?),* $(,)?) => {$(
        mod $scenario {
            use keynet_testkit::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::billing_stripe::run(Backend::Postgres, crate::billing_stripe::with_stripe!(@adjust $($adjust)?), |app, stub| Box::pin(super::$scenario(app, stub))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::billing_stripe::run(Backend::Sqlite, crate::billing_stripe::with_stripe!(@adjust $($adjust)?), |app, stub| Box::pin(super::$scenario(app, stub))).await;
            }
        }
    )*};
}
use with_stripe;

type Scenario = for<'a> fn(
    &'a TestApp,
    &'a Stub,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

async fn run(backend: Backend, adjust: impl FnOnce(&mut Settings), scenario: Scenario) {
    let stub = Stub::start().await;
    let app = TestApp::spawn_with(backend, |settings| {
        settings.run_workers = false;
        settings.billing.stripe = Some(StripeConfig {
            secret_key: SECRET_KEY.into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            api_base: stub.url.clone(),
            meter_events: MeterEventNames {
                gpu_seconds: "keynet_gpu_seconds".into(),
                cpu_seconds: "keynet_cpu_seconds".into(),
                inference_requests: "keynet_inference_requests".into(),
            },
            portal_return_url: None,
        });
        settings.billing.plans.team.stripe_price_id = Some(TEAM_PRICE.into());
        adjust(settings);
    })
    .await;
    scenario(&app, &stub).await;
    app.stop().await;
    stub.stop().await;
}

with_stripe!(
    // The invitations' emails need the workers; their first sync round finds nothing to do.
    the_portal_makes_the_customer_once where |s: &mut keynet_api::settings::Settings| s.run_workers = true,
    usage_goes_to_stripe_once_with_its_key_and_time,
    a_failed_send_is_retried_next_round,
    usage_too_old_for_stripe_is_refused_not_retried,
    drift_between_stripe_and_the_ledger_is_reported,
    the_workers_send_usage where |s: &mut keynet_api::settings::Settings| {
        s.run_workers = true;
        s.billing.sync_interval_secs = 1;
    },
);

on_both_backends!(without_stripe_the_ledger_is_enough);

async fn owner_and_org(app: &TestApp) -> (Account, String) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    (owner, org)
}

/// Records one usage fact in the ledger (also for the other billing scenarios).
pub(crate) async fn record(
    app: &TestApp,
    org: &str,
    meter: Meter,
    quantity: i64,
    key: &str,
    occurred_at: DateTime<Utc>,
    credit_reason: Option<&str>,
) {
    let usage = Usage {
        org_id: org.parse().unwrap(),
        meter,
        quantity,
        idempotency_key: key.into(),
        occurred_at,
        project_id: None,
        experiment_id: None,
        job_id: None,
        trainer_version_id: None,
        trainer_org_id: None,
        deployment_id: None,
        deployment_key_id: None,
        credit_reason: credit_reason.map(str::to_string),
    };
    ledger::record(app.platform().domain.db(), vec![usage])
        .await
        .unwrap();
}

async fn push(app: &TestApp) -> PushReport {
    app.platform().billing.push_usage_to_stripe().await.unwrap()
}

async fn sent_at(app: &TestApp, key: &str) -> Option<DateTime<Utc>> {
    usage_events::Entity::find()
        .filter(usage_events::Column::IdempotencyKey.eq(key))
        .one(app.platform().domain.db())
        .await
        .unwrap()
        .unwrap()
        .stripe_sent_at
}

async fn the_portal_makes_the_customer_once(app: &TestApp, stub: &Stub) {
    let (owner, org) = owner_and_org(app).await;
    let vars = json!({"o": org});
    let mut urls = Vec::new();
    for _ in 0..2 {
        let data = app.data(Some(&owner.token), PORTAL, vars.clone()).await;
        urls.push(data["billingPortalUrl"].as_str().unwrap().to_string());
    }
    assert!(urls[0].starts_with("https://billing.stripe.test/p/session/"));
    assert_ne!(urls[0], urls[1], "each call opens a new session");

    let customers = stub.requests("POST", "/v1/customers");
    assert_eq!(customers.len(), 1, "one customer for two portal sessions");
    let created = &customers[0];
    assert_eq!(created.param("metadata[org_id]"), Some(org.as_str()));
    assert_eq!(created.param("name"), Some("ACME"));
    assert_eq!(
        created.idempotency_key.as_deref(),
        Some(format!("keynet-customer-{org}").as_str())
    );
    assert_eq!(
        created.authorization.as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    // Answers are read with one pinned API version, not the account's default.
    assert_eq!(created.stripe_version.as_deref(), Some("2026-09-30.endive"));

    let account = app.data(Some(&owner.token), ACCOUNT, vars.clone()).await;
    let customer = account["billingAccount"]["stripeCustomerId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(customer.starts_with("cus_stub"));
    let sessions = stub.requests("POST", "/v1/billing_portal/sessions");
    assert_eq!(sessions.len(), 2);
    for session in &sessions {
        assert_eq!(session.param("customer"), Some(customer.as_str()));
        // No portal_return_url configured: back to the platform.
        assert_eq!(session.param("return_url"), Some(app.url()));
    }

    let log = app
        .data(
            Some(&owner.token),
            "query($o: ID!) { auditLog(orgId: $o, action: \"billing.stripe_customer_created\") { edges { node { actor { email } metadata } } } }",
            vars.clone(),
        )
        .await;
    let entries = log["auditLog"]["edges"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["node"]["actor"]["email"], "owner@example.com");
    assert_eq!(
        entries[0]["node"]["metadata"]["stripeCustomerId"],
        customer.as_str()
    );

    // Admins only; another organization's id is not found.
    let member = app.join(&owner, &org, "member@example.com", "MEMBER").await;
    assert_eq!(
        app.code(Some(&member.token), PORTAL, vars.clone()).await,
        "FORBIDDEN"
    );
    let admin = app.join(&owner, &org, "admin@example.com", "ADMIN").await;
    app.data(Some(&admin.token), PORTAL, vars.clone()).await;
    let stranger = app.signup("stranger@example.com").await;
    app.create_org(&stranger, "other").await;
    assert_eq!(
        app.code(Some(&stranger.token), PORTAL, vars.clone()).await,
        "NOT_FOUND"
    );
    assert_eq!(app.code(None, PORTAL, vars).await, "UNAUTHENTICATED");
    assert_eq!(stub.requests("POST", "/v1/customers").len(), 1);
    assert_eq!(
        stub.requests("POST", "/v1/billing_portal/sessions").len(),
        3
    );

    // Two first needs at once: both ask Stripe with the same key, one customer is kept.
    let beta = app.create_org(&owner, "beta").await;
    let vars = json!({"o": beta});
    tokio::join!(
        app.data(Some(&owner.token), PORTAL, vars.clone()),
        app.data(Some(&owner.token), PORTAL, vars.clone()),
    );
    let asked: Vec<_> = stub
        .requests("POST", "/v1/customers")
        .into_iter()
        .filter(|r| r.param("metadata[org_id]") == Some(beta.as_str()))
        .collect();
    assert!(!asked.is_empty());
    assert!(
        asked
            .iter()
            .all(|r| r.idempotency_key == asked[0].idempotency_key)
    );
    let account = app.data(Some(&owner.token), ACCOUNT, vars.clone()).await;
    let customer = account["billingAccount"]["stripeCustomerId"].clone();
    let sessions = stub.requests("POST", "/v1/billing_portal/sessions");
    assert!(
        sessions[3..]
            .iter()
            .all(|s| s.param("customer") == customer.as_str())
    );
    let log = app
        .data(
            Some(&owner.token),
            "query($o: ID!) { auditLog(orgId: $o, action: \"billing.stripe_customer_created\") { edges { cursor } } }",
            vars,
        )
        .await;
    assert_eq!(log["auditLog"]["edges"].as_array().unwrap().len(), 1);
}

async fn usage_goes_to_stripe_once_with_its_key_and_time(app: &TestApp, stub: &Stub) {
    let (_, org) = owner_and_org(app).await;
    let at = Utc::now() - Duration::minutes(5);
    record(app, &org, Meter::GpuSeconds, 120, "test:gpu:1", at, None).await;
    record(
        app,
        &org,
        Meter::InferenceRequests,
        3,
        "test:inference:1",
        at,
        None,
    )
    .await;
    record(
        app,
        &org,
        Meter::GpuSeconds,
        999,
        "test:gpu:credited",
        at,
        Some("platform failure"),
    )
    .await;

    // The customer is made on this first need.
    assert_eq!(
        push(app).await,
        PushReport {
            sent: 2,
            failed: 0,
            refused: 0
        }
    );
    let customers = stub.requests("POST", "/v1/customers");
    assert_eq!(customers.len(), 1);
    let events = stub.meter_events();
    assert_eq!(events.len(), 2);
    let gpu = events
        .iter()
        .find(|e| e.identifier == "test:gpu:1")
        .unwrap();
    assert_eq!(gpu.event_name, "keynet_gpu_seconds");
    assert_eq!(gpu.value, 120);
    assert_eq!(gpu.timestamp, at.timestamp(), "the usage's own time");
    assert!(gpu.customer.starts_with("cus_stub"));
    let inference = events
        .iter()
        .find(|e| e.identifier == "test:inference:1")
        .unwrap();
    assert_eq!(inference.event_name, "keynet_inference_requests");
    assert_eq!(inference.value, 3);
    let requests = stub.requests("POST", "/v1/billing/meter_events");
    let keys: Vec<_> = requests
        .iter()
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();
    assert!(keys.contains(&"keynet-meter-test:gpu:1"));
    assert!(sent_at(app, "test:gpu:1").await.is_some());
    assert!(sent_at(app, "test:gpu:credited").await.is_none());

    // Nothing goes twice; only new usage goes next round.
    assert_eq!(push(app).await, PushReport::default());
    record(app, &org, Meter::CpuSeconds, 40, "test:cpu:1", at, None).await;
    assert_eq!(push(app).await.sent, 1);
    let requests = stub.requests("POST", "/v1/billing/meter_events");
    assert_eq!(requests.len(), 3, "each usage event sent once");
    assert!(
        requests
            .iter()
            .all(|r| r.param("identifier") != Some("test:gpu:credited")),
        "credited usage is never sent"
    );
    assert_eq!(stub.requests("POST", "/v1/customers").len(), 1);

    let recorded = stripe_meter_events::Entity::find()
        .all(app.platform().domain.db())
        .await
        .unwrap();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|r| r.outcome == Outcome::Sent
        && r.stripe_customer_id.as_deref() == Some(gpu.customer.as_str())));
}

async fn a_failed_send_is_retried_next_round(app: &TestApp, stub: &Stub) {
    let (_, org) = owner_and_org(app).await;
    let at = Utc::now() - Duration::minutes(1);
    record(app, &org, Meter::GpuSeconds, 30, "test:retry:1", at, None).await;
    record(app, &org, Meter::GpuSeconds, 45, "test:retry:2", at, None).await;

    stub.state().fail_meter_events = true;
    let report = push(app).await;
    assert_eq!((report.sent, report.failed), (0, 2));
    assert!(sent_at(app, "test:retry:1").await.is_none());
    assert!(sent_at(app, "test:retry:2").await.is_none());
    assert!(stub.meter_events().is_empty());

    stub.state().fail_meter_events = false;
    assert_eq!(push(app).await.sent, 2);
    assert!(sent_at(app, "test:retry:1").await.is_some());
    let mut sent: Vec<_> = stub
        .meter_events()
        .into_iter()
        .map(|e| (e.identifier, e.value))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("test:retry:1".to_string(), 30),
            ("test:retry:2".to_string(), 45)
        ]
    );
    assert_eq!(push(app).await, PushReport::default());
}

async fn usage_too_old_for_stripe_is_refused_not_retried(app: &TestApp, stub: &Stub) {
    let (_, org) = owner_and_org(app).await;
    let old = Utc::now() - Duration::days(40);
    record(app, &org, Meter::GpuSeconds, 500, "test:old:1", old, None).await;
    record(
        app,
        &org,
        Meter::GpuSeconds,
        5,
        "test:new:1",
        Utc::now(),
        None,
    )
    .await;

    assert_eq!(
        push(app).await,
        PushReport {
            sent: 1,
            failed: 0,
            refused: 1
        }
    );
    let identifiers: Vec<_> = stub
        .meter_events()
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    assert_eq!(identifiers, ["test:new:1"]);
    assert!(sent_at(app, "test:old:1").await.is_none());
    let refused = stripe_meter_events::Entity::find()
        .filter(stripe_meter_events::Column::Identifier.eq("test:old:1"))
        .one(app.platform().domain.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused.outcome, Outcome::Refused);
    assert!(refused.reason.unwrap().contains("35 days"));

    // Reported once, never retried.
    assert_eq!(push(app).await, PushReport::default());
    assert_eq!(stub.requests("POST", "/v1/billing/meter_events").len(), 1);
}

async fn drift_between_stripe_and_the_ledger_is_reported(app: &TestApp, stub: &Stub) {
    let (owner, org) = owner_and_org(app).await;
    let vars = json!({"o": org});
    let at = Utc::now() - Duration::seconds(1);
    record(app, &org, Meter::GpuSeconds, 100, "test:drift:1", at, None).await;
    record(app, &org, Meter::GpuSeconds, 20, "test:drift:2", at, None).await;
    // Not sent yet: not in either total.
    assert_eq!(push(app).await.sent, 2);
    record(
        app,
        &org,
        Meter::GpuSeconds,
        7,
        "test:drift:unsent",
        at,
        None,
    )
    .await;

    let billing = &app.platform().billing;
    assert_eq!(billing.reconcile_stripe().await.unwrap(), []);
    // The meters come in two pages: the second starts after the first's last meter.
    let pages = stub.requests("GET", "/v1/billing/meters");
    let after: Vec<_> = pages.iter().map(|p| p.param("starting_after")).collect();
    assert_eq!(after, [None, Some("mtr_cpu")]);
    let summaries = stub.requests("GET", "/v1/billing/meters/mtr_gpu/event_summaries");
    assert_eq!(summaries.len(), 1);
    let customer = stub.meter_events()[0].customer.clone();
    assert_eq!(summaries[0].param("customer"), Some(customer.as_str()));
    let account = app.data(Some(&owner.token), ACCOUNT, vars.clone()).await;
    assert_eq!(account["billingAccount"]["stripeDrift"], json!([]));

    stub.state().summary_offset.insert("mtr_gpu".into(), 5.0);
    let drift = billing.reconcile_stripe().await.unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].meter, Meter::GpuSeconds);
    assert_eq!(
        (drift[0].ledger_quantity, drift[0].stripe_quantity),
        (120, 125)
    );
    let account = app.data(Some(&owner.token), ACCOUNT, vars.clone()).await;
    assert_eq!(
        account["billingAccount"]["stripeDrift"],
        json!([{"meter": "GPU_SECONDS", "ledgerQuantity": 120, "stripeQuantity": 125}])
    );

    stub.state().summary_offset.clear();
    assert_eq!(billing.reconcile_stripe().await.unwrap(), []);
    let account = app.data(Some(&owner.token), ACCOUNT, vars).await;
    assert_eq!(account["billingAccount"]["stripeDrift"], json!([]));
}

async fn the_workers_send_usage(app: &TestApp, stub: &Stub) {
    let (_, org) = owner_and_org(app).await;
    record(
        app,
        &org,
        Meter::GpuSeconds,
        60,
        "test:worker:1",
        Utc::now(),
        None,
    )
    .await;
    for _ in 0..150 {
        if !stub.meter_events().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let events = stub.meter_events();
    assert_eq!(events.len(), 1, "the sync loop sent the usage");
    assert_eq!(events[0].identifier, "test:worker:1");
}

async fn without_stripe_the_ledger_is_enough(app: &TestApp) {
    let (owner, org) = owner_and_org(app).await;
    let vars = json!({"o": org});
    let (code, error) = app.error(Some(&owner.token), PORTAL, vars.clone()).await;
    assert_eq!(code, "FORBIDDEN");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Stripe is not configured")
    );
    let account = app.data(Some(&owner.token), ACCOUNT, vars).await;
    assert_eq!(account["billingAccount"]["stripeCustomerId"], json!(null));
    assert_eq!(account["billingAccount"]["stripeDrift"], json!([]));

    let billing = &app.platform().billing;
    assert!(!billing.stripe_enabled());
    assert!(matches!(
        billing.push_usage_to_stripe().await,
        Err(keynet_billing::Error::StripeNotConfigured)
    ));
    let response = app
        .http
        .post(format!("{}/webhooks/stripe", app.url()))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
