//! `POST /webhooks/stripe`, with events signed for real with the platform's webhook secret:
//! good ones move the account, bad, stale and missing signatures change nothing, a replayed
//! event counts once, and an older event arriving late does not undo a newer one.

use super::stub::Stub;
use super::{ACCOUNT, PORTAL, TEAM_PRICE, WEBHOOK_SECRET, owner_and_org, with_stripe};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey};
use keynet_billing::entities::invoices::{self, InvoiceStatus};
use keynet_billing::plans::PlanName;
use keynet_testkit::{Account, TestApp};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

with_stripe!(
    invoices_move_the_status_once_and_in_order,
    subscriptions_set_the_plan_and_end_it,
    bad_stale_and_missing_signatures_change_nothing,
);

/// `Stripe-Signature` as Stripe makes it: HMAC-SHA256 of `"<t>.<body>"`, in hex.
/// (jsonwebtoken's HS256 is that MAC; it only encodes it in base64.)
fn sign(body: &str, secret: &str, at: i64) -> String {
    let mac = jsonwebtoken::crypto::sign(
        format!("{at}.{body}").as_bytes(),
        &EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    let mac = URL_SAFE_NO_PAD.decode(mac).unwrap();
    format!("t={at},v1={}", hex::encode(mac))
}

fn event(id: &str, kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": created,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
        "data": {"object": object},
    })
    .to_string()
}

fn invoice(id: &str, customer: &str, status: &str) -> Value {
    json!({"id": id, "object": "invoice", "customer": customer, "status": status, "currency": "usd", "amount_due": 4900})
}

fn subscription(id: &str, customer: &str, status: &str, price: &str) -> Value {
    json!({
        "id": id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "items": {"object": "list", "data": [
            {"id": "si_1", "object": "subscription_item", "price": {"id": price, "object": "price"}}
        ]},
    })
}

/// Posts `body` signed now with the webhook secret; the status and the JSON answer.
async fn deliver(app: &TestApp, body: &str) -> (u16, Value) {
    let signature = sign(body, WEBHOOK_SECRET, Utc::now().timestamp());
    deliver_signed(app, body, Some(&signature)).await
}

async fn deliver_signed(app: &TestApp, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = app
        .http
        .post(format!("{}/webhooks/stripe", app.url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The organization's Stripe customer, made through the portal.
async fn customer(app: &TestApp, owner: &Account, org: &str) -> String {
    app.data(Some(&owner.token), PORTAL, json!({"o": org}))
        .await;
    account(app, owner, org).await["stripeCustomerId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn account(app: &TestApp, owner: &Account, org: &str) -> Value {
    app.data(Some(&owner.token), ACCOUNT, json!({"o": org}))
        .await["billingAccount"]
        .clone()
}

async fn audit(app: &TestApp, owner: &Account, org: &str, action: &str) -> Vec<Value> {
    let log = app
        .data(
            Some(&owner.token),
            "query($o: ID!, $a: String) { auditLog(orgId: $o, action: $a) { edges { node { actor { email } metadata } } } }",
            json!({"o": org, "a": action}),
        )
        .await;
    log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn invoices_move_the_status_once_and_in_order(app: &TestApp, _stub: &Stub) {
    let (owner, org) = owner_and_org(app).await;
    let customer = customer(app, &owner, &org).await;
    let now = Utc::now().timestamp();

    let failed = event(
        "evt_failed_1",
        "invoice.payment_failed",
        now - 10,
        invoice("in_1", &customer, "open"),
    );
    let (status, answer) = deliver(app, &failed).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("applied")));
    let state = account(app, &owner, &org).await;
    assert_eq!(state["status"], "PAST_DUE");
    assert_eq!(time(&state["paymentFailedAt"]).timestamp(), now - 10);
    // The grace period counts from the failure.
    assert_eq!(
        time(&state["graceEndsAt"]),
        time(&state["paymentFailedAt"]) + chrono::Duration::days(7)
    );
    let changes = audit(app, &owner, &org, "billing.status_changed").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["actor"], Value::Null);
    assert_eq!(changes[0]["metadata"]["from"], "active");
    assert_eq!(changes[0]["metadata"]["to"], "past_due");
    assert_eq!(
        changes[0]["metadata"]["stripe"]["stripeEvent"],
        "evt_failed_1"
    );

    // Stripe delivers at least once: the same event again changes nothing.
    let (status, answer) = deliver(app, &failed).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    assert_eq!(
        audit(app, &owner, &org, "billing.status_changed")
            .await
            .len(),
        1
    );

    // Paid: active again, and Keynet's invoice with that Stripe id is paid.
    let ours = invoices::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        org_id: Set(org.parse().unwrap()),
        period_start: Set(Utc::now() - chrono::Duration::days(30)),
        period_end: Set(Utc::now()),
        plan: Set(PlanName::Team),
        currency: Set("usd".into()),
        status: Set(InvoiceStatus::Open),
        subtotal: Set(4900),
        credits: Set(0),
        total: Set(4900),
        stripe_invoice_id: Set(Some("in_1".into())),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
    }
    .insert(app.platform().domain.db())
    .await
    .unwrap();
    let paid = event(
        "evt_paid_1",
        "invoice.paid",
        now,
        invoice("in_1", &customer, "paid"),
    );
    let (status, _) = deliver(app, &paid).await;
    assert_eq!(status, 200);
    let state = account(app, &owner, &org).await;
    assert_eq!(state["status"], "ACTIVE");
    assert_eq!(state["paymentFailedAt"], Value::Null);
    let invoice_status = app
        .data(
            Some(&owner.token),
            "query($i: ID!) { invoice(id: $i) { status } }",
            json!({"i": ours.id.to_string()}),
        )
        .await;
    assert_eq!(invoice_status["invoice"]["status"], "PAID");

    // A failure created before the payment, arriving after it, does not undo it; it is
    // still recorded as processed.
    let late = event(
        "evt_failed_0",
        "invoice.payment_failed",
        now - 60,
        invoice("in_0", &customer, "open"),
    );
    let (status, answer) = deliver(app, &late).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("stale")));
    let state = account(app, &owner, &org).await;
    assert_eq!(state["status"], "ACTIVE");
    assert_eq!(state["paymentFailedAt"], Value::Null);
    let (_, answer) = deliver(app, &late).await;
    assert_eq!(answer["outcome"], "duplicate");

    // Events about customers no organization has, or of types Keynet ignores: 200.
    let stranger = event(
        "evt_other_customer",
        "invoice.payment_failed",
        now + 1,
        invoice("in_9", "cus_unknown", "open"),
    );
    assert_eq!(deliver(app, &stranger).await.1["outcome"], "ignored");
    let other_type = event(
        "evt_other_type",
        "charge.succeeded",
        now + 1,
        json!({"id": "ch_1", "object": "charge"}),
    );
    assert_eq!(deliver(app, &other_type).await.1["outcome"], "ignored");
    assert_eq!(account(app, &owner, &org).await["status"], "ACTIVE");
    assert_eq!(
        audit(app, &owner, &org, "billing.status_changed")
            .await
            .len(),
        2
    );
}

async fn subscriptions_set_the_plan_and_end_it(app: &TestApp, _stub: &Stub) {
    let (owner, org) = owner_and_org(app).await;
    let customer = customer(app, &owner, &org).await;
    let now = Utc::now().timestamp();

    let started = event(
        "evt_sub_1",
        "customer.subscription.updated",
        now - 30,
        subscription("sub_1", &customer, "active", TEAM_PRICE),
    );
    assert_eq!(deliver(app, &started).await.0, 200);
    let state = account(app, &owner, &org).await;
    assert_eq!(
        (&state["plan"], &state["effectivePlan"], &state["status"]),
        (&json!("TEAM"), &json!("TEAM"), &json!("ACTIVE"))
    );
    let plan_changes = audit(app, &owner, &org, "billing.plan_changed").await;
    assert_eq!(plan_changes.len(), 1);
    assert_eq!(plan_changes[0]["metadata"]["to"], "team");

    // Another subscription of the customer ending is not the account's.
    let other = event(
        "evt_sub_other",
        "customer.subscription.deleted",
        now - 20,
        subscription("sub_old", &customer, "canceled", TEAM_PRICE),
    );
    assert_eq!(deliver(app, &other).await.1["outcome"], "ignored");
    assert_eq!(account(app, &owner, &org).await["status"], "ACTIVE");

    let ended = event(
        "evt_sub_2",
        "customer.subscription.deleted",
        now - 10,
        subscription("sub_1", &customer, "canceled", TEAM_PRICE),
    );
    assert_eq!(deliver(app, &ended).await.1["outcome"], "applied");
    let state = account(app, &owner, &org).await;
    assert_eq!(state["status"], "CANCELED");
    assert_eq!(state["effectivePlan"], "FREE");

    // An update created before the deletion does not bring the subscription back.
    let late = event(
        "evt_sub_late",
        "customer.subscription.updated",
        now - 25,
        subscription("sub_1", &customer, "active", TEAM_PRICE),
    );
    assert_eq!(deliver(app, &late).await.1["outcome"], "stale");
    assert_eq!(account(app, &owner, &org).await["status"], "CANCELED");

    // The plan history invoices use: free from the creation, team from the subscription,
    // free again (charged as such) from its end; the ignored and stale events left none.
    assert_eq!(
        charged_plans(app, &org).await,
        [PlanName::Free, PlanName::Team, PlanName::Free]
    );
}

async fn charged_plans(app: &TestApp, org: &str) -> Vec<PlanName> {
    use keynet_billing::entities::billing_plan_changes::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Entity::find()
        .filter(Column::OrgId.eq(keynet_domain::ids::OrgId::parse(org).unwrap()))
        .order_by_asc(Column::EffectiveAt)
        .all(app.platform().domain.db())
        .await
        .unwrap()
        .into_iter()
        .map(|change| change.plan)
        .collect()
}

async fn bad_stale_and_missing_signatures_change_nothing(app: &TestApp, _stub: &Stub) {
    let (owner, org) = owner_and_org(app).await;
    let customer = customer(app, &owner, &org).await;
    let now = Utc::now().timestamp();
    let failed = event(
        "evt_sig_1",
        "invoice.payment_failed",
        now,
        invoice("in_sig", &customer, "open"),
    );

    let wrong_secret = sign(&failed, "whsec_someone_else", now);
    let stale = sign(&failed, WEBHOOK_SECRET, now - 301);
    // The same time spelled otherwise: the signature covers the header's text.
    let respelled = sign(&failed, WEBHOOK_SECRET, now).replace("t=", "t=0");
    let body_changed = sign(&failed, WEBHOOK_SECRET, now);
    let mut refusals = vec![
        (failed.clone(), Some(wrong_secret)),
        (failed.clone(), Some(stale)),
        (failed.clone(), Some(respelled)),
        (failed.clone(), Some("t=123".to_string())),
        (failed.clone(), None),
        (failed.replace("open", "paid"), Some(body_changed)),
    ];
    // Signed right, but not a Stripe event.
    let not_an_event = "{\"hello\": true}".to_string();
    let signed = sign(&not_an_event, WEBHOOK_SECRET, now);
    refusals.push((not_an_event, Some(signed)));
    for (body, signature) in refusals {
        let (status, answer) = deliver_signed(app, &body, signature.as_deref()).await;
        assert_eq!(status, 400, "{signature:?} should be refused: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    let state = account(app, &owner, &org).await;
    assert_eq!(state["status"], "ACTIVE");
    assert!(
        audit(app, &owner, &org, "billing.status_changed")
            .await
            .is_empty()
    );

    // None of them was recorded: the genuine delivery of that event still applies.
    let (status, answer) = deliver(app, &failed).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("applied")));
    assert_eq!(account(app, &owner, &org).await["status"], "PAST_DUE");
}
