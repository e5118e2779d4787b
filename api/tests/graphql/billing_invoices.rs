//! Invoices follow the plan history, on both backends: no invoice for a period before the
//! organization existed (a new organization that moves to a paid plan is not charged the
//! month before), a past period priced with the plan(s) in force then and not today's, and
//! a plan changed within a period prorated by the seconds each was in force, rounded half
//! up to a minor unit.

use chrono::{DateTime, TimeZone, Utc};
use keynet_api::settings::Settings;
use keynet_billing::entities::billing_plan_changes;
use keynet_billing::meters::{Meter, amount};
use keynet_billing::periods::Period;
use keynet_billing::plan_history;
use keynet_billing::plans::PlanName;
use keynet_domain::ids::OrgId;
use keynet_testkit::{Account, TestApp};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

on_both_backends!(
    a_new_org_is_not_invoiced_for_the_month_before where super::no_workers,
    past_periods_are_priced_with_the_plans_then_in_force where super::no_workers,
);

/// The tests draft the invoices themselves.
fn no_workers(settings: &mut Settings) {
    settings.run_workers = false;
}

const CHANGE_PLAN: &str =
    "mutation($o: ID!, $p: PlanName!) { changePlan(orgId: $o, plan: $p) { plan } }";

async fn invoices(app: &TestApp, owner: &Account, org: &str) -> Vec<Value> {
    app.data(
        Some(&owner.token),
        "query($o: ID!) { invoices(orgId: $o) { edges { node { periodStart plan subtotal total
            lines { meter description quantity unitPrice unitPricePer amount } } } } }",
        json!({"o": org}),
    )
    .await["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

async fn a_new_org_is_not_invoiced_for_the_month_before(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    app.data(
        Some(&owner.token),
        CHANGE_PLAN,
        json!({"o": org, "p": "TEAM"}),
    )
    .await;

    let billing = &app.platform().billing;
    let this_month = Period::containing(Utc::now());
    assert_eq!(
        billing
            .draft_invoices_for(this_month.previous().start)
            .await
            .unwrap(),
        0,
        "the organization did not exist last month"
    );
    assert_eq!(billing.draft_due_invoices().await.unwrap(), 0);
    assert_eq!(billing.draft_invoices_for(Utc::now()).await.unwrap(), 1);

    let invoices = invoices(app, &owner, &org).await;
    assert_eq!(invoices.len(), 1);
    let invoice = &invoices[0];
    assert_eq!(invoice["plan"], "TEAM");
    let lines = invoice["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "the free days cost nothing: {lines:?}");
    let fee = &lines[0];
    assert_eq!(fee["meter"], Value::Null);
    assert_eq!(fee["unitPrice"], 4900);
    assert_eq!(fee["unitPricePer"], this_month.seconds());
    let seconds = fee["quantity"].as_i64().unwrap();
    assert!(
        seconds < this_month.seconds(),
        "the team plan for part of the month only: {fee}"
    );
    assert_eq!(fee["amount"], amount(seconds, 4900, this_month.seconds()));
    assert!(
        fee["description"].as_str().unwrap().contains("prorated"),
        "{fee}"
    );
    assert_eq!(invoice["total"], fee["amount"]);
}

fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .unwrap()
}

async fn gpu_hour(app: &TestApp, org: &str, key: &str, occurred_at: DateTime<Utc>) {
    crate::billing_stripe::record(app, org, Meter::GpuSeconds, 3600, key, occurred_at, None).await;
}

/// Amounts and descriptions of an invoice's lines, in order.
fn lines(invoice: &Value) -> Vec<(String, i64)> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["description"].as_str().unwrap().to_string(),
                l["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn past_periods_are_priced_with_the_plans_then_in_force(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let org = OrgId::parse(&org_id).unwrap();
    let db = app.platform().domain.db();
    // The account exists from the organization's creation, here moved back to 15 October
    // 2026; then the team plan from 20 October, enterprise from 1 November 03:36, team
    // again from 21 November, and free since today.
    app.data(
        Some(&owner.token),
        "query($o: ID!) { billingAccount(orgId: $o) { plan } }",
        json!({"o": org_id}),
    )
    .await;
    billing_plan_changes::Entity::update_many()
        .col_expr(
            billing_plan_changes::Column::EffectiveAt,
            Expr::value(at(10, 15, 0, 0)),
        )
        .filter(billing_plan_changes::Column::OrgId.eq(org))
        .exec(db)
        .await
        .unwrap();
    for (plan, from) in [
        (PlanName::Team, at(10, 20, 0, 0)),
        (PlanName::Enterprise, at(11, 1, 3, 36)),
        (PlanName::Team, at(11, 21, 0, 0)),
    ] {
        plan_history::record(db, org, plan, from).await.unwrap();
    }
    app.data(
        Some(&owner.token),
        CHANGE_PLAN,
        json!({"o": org_id, "p": "TEAM"}),
    )
    .await;
    app.data(
        Some(&owner.token),
        CHANGE_PLAN,
        json!({"o": org_id, "p": "FREE"}),
    )
    .await;
    gpu_hour(app, &org_id, "free-october", at(10, 18, 12, 0)).await;
    gpu_hour(app, &org_id, "enterprise-november", at(11, 5, 12, 0)).await;
    gpu_hour(app, &org_id, "team-november", at(11, 25, 12, 0)).await;

    let billing = &app.platform().billing;
    assert_eq!(
        billing.draft_invoices_for(at(9, 15, 0, 0)).await.unwrap(),
        0,
        "no invoice for September: the organization did not exist"
    );
    assert_eq!(
        billing.draft_invoices_for(at(10, 15, 0, 0)).await.unwrap(),
        1
    );
    assert_eq!(
        billing.draft_invoices_for(at(11, 15, 0, 0)).await.unwrap(),
        1
    );

    let invoices = invoices(app, &owner, &org_id).await;
    let of = |month: u32| {
        invoices
            .iter()
            .find(|i| {
                i["periodStart"].as_str().and_then(|s| s.parse().ok()) == Some(at(month, 1, 0, 0))
            })
            .unwrap_or_else(|| panic!("no invoice for month {month}: {invoices:?}"))
    };
    // October (2,678,400 s): free from the 15th, with an hour of GPU at the free price;
    // team for the last 12 days: 4900 × 1,036,800 / 2,678,400 = 1896.77 → 1897.
    let october = of(10);
    assert_eq!(october["plan"], "TEAM");
    assert_eq!(
        lines(october),
        [
            ("GPU time (GPU-seconds), free plan".to_string(), 0),
            (
                "team plan, 2026-10-20 00:00 to 2026-11-01 00:00 UTC (prorated)".to_string(),
                1897
            ),
        ]
    );
    assert_eq!(october["total"], 1897);
    // November (2,592,000 s): team for 12,960 s, 4900 × 12,960 / 2,592,000 = 24.5 → 25
    // (half rounds up); enterprise (no fee) with an hour of GPU at its 200; team for the
    // last 10 days, 4900 × 864,000 / 2,592,000 = 1633.33 → 1633, and an hour at its 250.
    // The account is on the free plan now: that changes nothing in the past.
    let november = of(11);
    assert_eq!(november["plan"], "TEAM");
    assert_eq!(
        lines(november),
        [
            (
                "team plan, 2026-11-01 00:00 to 2026-11-01 03:36 UTC (prorated)".to_string(),
                25
            ),
            ("GPU time (GPU-seconds), enterprise plan".to_string(), 200),
            (
                "team plan, 2026-11-21 00:00 to 2026-12-01 00:00 UTC (prorated)".to_string(),
                1633
            ),
            ("GPU time (GPU-seconds), team plan".to_string(), 250),
        ]
    );
    assert_eq!(november["subtotal"], 25 + 200 + 1633 + 250);
    assert_eq!(november["total"], 25 + 200 + 1633 + 250);
}
