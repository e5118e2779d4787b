//! Invoices: at each period's end a draft per organization that existed during it, from
//! the ledger and the plan history. Each plan in force during the period gives a fee line,
//! its monthly fee prorated by the seconds it was in force (rounded half up to a minor
//! unit), and a line per meter for the usage while it was in force, at its prices.
//! Drafting is idempotent: the database keeps one invoice per organization and period,
//! whichever worker drafts it.

use crate::config::BillingConfig;
use crate::entities::invoices::{self, InvoiceStatus};
use crate::entities::{billing_accounts, billing_plan_changes, invoice_lines};
use crate::error::Result;
use crate::meters::{Meter, amount};
use crate::periods::Period;
use crate::plan_history::{self, PlanSegment};
use crate::usage::{GroupBy, grouped};
use keynet_domain::time::now;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use uuid::Uuid;

/// Drafts the invoices of `period` that do not exist yet; returns how many it drafted.
pub async fn draft_period(
    db: &DatabaseConnection,
    config: &BillingConfig,
    period: Period,
) -> Result<usize> {
    // Only the accounts without an invoice for the period: the loop runs every minute.
    let drafted = Query::select()
        .column(invoices::Column::OrgId)
        .from(invoices::Entity)
        .and_where(Expr::col(invoices::Column::PeriodStart).eq(period.start))
        .to_owned();
    // And only those that existed before the period ended.
    let existing = Query::select()
        .column(billing_plan_changes::Column::OrgId)
        .from(billing_plan_changes::Entity)
        .and_where(Expr::col(billing_plan_changes::Column::EffectiveAt).lt(period.end))
        .to_owned();
    let accounts = billing_accounts::Entity::find()
        .filter(billing_accounts::Column::OrgId.not_in_subquery(drafted))
        .filter(billing_accounts::Column::OrgId.in_subquery(existing))
        .all(db)
        .await?;
    let mut drafted = 0;
    for account in accounts {
        if draft_one(db, config, &account, period).await? {
            drafted += 1;
        }
    }
    Ok(drafted)
}

/// Whether it drafted one: not when it exists, nor when there is nothing to charge or show
/// (no fee, no usage).
async fn draft_one(
    db: &DatabaseConnection,
    config: &BillingConfig,
    account: &billing_accounts::Model,
    period: Period,
) -> Result<bool> {
    let exists = invoices::Entity::find()
        .filter(invoices::Column::OrgId.eq(account.org_id))
        .filter(invoices::Column::PeriodStart.eq(period.start))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    let segments = plan_history::segments(db, account.org_id, period).await?;
    // The plan in force at the period's end names the invoice.
    let Some(last) = segments.last() else {
        return Ok(false);
    };
    let plan_name = last.plan;
    let invoice_id = Uuid::now_v7();
    let mut lines = Vec::new();
    let mut credits = 0;
    for segment in &segments {
        let named = segments.len() > 1;
        let plan_lines =
            segment_lines(db, config, invoice_id, account, period, segment, named).await?;
        lines.extend(plan_lines.lines);
        credits += plan_lines.credits;
    }
    if lines.is_empty() {
        return Ok(false);
    }
    let subtotal: i64 = lines.iter().map(|l| l.amount).sum();
    let at = now();
    let txn = db.begin().await?;
    let inserted = invoices::ActiveModel {
        id: Set(invoice_id),
        org_id: Set(account.org_id),
        period_start: Set(period.start),
        period_end: Set(period.end),
        plan: Set(plan_name),
        currency: Set(config.currency.clone()),
        status: Set(InvoiceStatus::Draft),
        subtotal: Set(subtotal),
        credits: Set(credits),
        total: Set(subtotal),
        stripe_invoice_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await;
    match inserted {
        Ok(_) => {}
        // Another worker drafted it meanwhile.
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    }
    for (position, mut line) in lines.into_iter().enumerate() {
        line.position = position as i32;
        invoice_lines::ActiveModel::from(line).insert(&txn).await?;
    }
    txn.commit().await?;
    tracing::info!(org = %account.org_id, invoice = %invoice_id, total = subtotal, "invoice drafted");
    Ok(true)
}

struct SegmentLines {
    lines: Vec<invoice_lines::Model>,
    /// What the credited usage would have cost.
    credits: i64,
}

/// The lines of one plan's stretch of the period. With `named`, the usage lines name the
/// plan.
async fn segment_lines(
    db: &DatabaseConnection,
    config: &BillingConfig,
    invoice_id: Uuid,
    account: &billing_accounts::Model,
    period: Period,
    segment: &PlanSegment,
    named: bool,
) -> Result<SegmentLines> {
    let plan = config.plans.get(segment.plan);
    let mut lines = Vec::new();
    if plan.monthly_fee > 0 {
        // quantity / unit_price_per: the seconds the plan was in force / the period's.
        lines.push(line(
            invoice_id,
            None,
            fee_description(segment, period),
            (segment.seconds(), 0),
            (plan.monthly_fee, period.seconds()),
        ));
    }
    let by_meter = grouped(
        db,
        account.org_id,
        segment.start,
        segment.end,
        &[GroupBy::Meter],
    )
    .await?;
    let mut credits = 0;
    for meter in Meter::ALL {
        let Some(group) = by_meter.iter().find(|g| g.meter == Some(meter)) else {
            continue;
        };
        let price = (plan.price(meter), meter.price_unit());
        credits += amount(group.credited_quantity, price.0, price.1);
        let description = if named {
            format!("{}, {} plan", meter.description(), segment.plan.name())
        } else {
            meter.description().to_string()
        };
        lines.push(line(
            invoice_id,
            Some(meter),
            description,
            (group.quantity, group.credited_quantity),
            price,
        ));
    }
    Ok(SegmentLines { lines, credits })
}

/// "team plan", or with the dates when it was in force for part of the period only.
fn fee_description(segment: &PlanSegment, period: Period) -> String {
    let name = segment.plan.name();
    if segment.start == period.start && segment.end == period.end {
        return format!("{name} plan");
    }
    let format = "%Y-%m-%d %H:%M";
    format!(
        "{name} plan, {} to {} UTC (prorated)",
        segment.start.format(format),
        segment.end.format(format)
    )
}

fn line(
    invoice_id: Uuid,
    meter: Option<Meter>,
    description: String,
    (quantity, credited_quantity): (i64, i64),
    (unit_price, unit_price_per): (i64, i64),
) -> invoice_lines::Model {
    invoice_lines::Model {
        id: Uuid::now_v7(),
        invoice_id,
        position: 0,
        meter,
        description,
        quantity,
        credited_quantity,
        unit_price,
        unit_price_per,
        amount: amount(quantity, unit_price, unit_price_per),
    }
}

pub(crate) async fn lines_of(
    db: &impl sea_orm::ConnectionTrait,
    invoice: Uuid,
) -> Result<Vec<invoice_lines::Model>> {
    use sea_orm::QueryOrder;
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::InvoiceId.eq(invoice))
        .order_by_asc(invoice_lines::Column::Position)
        .all(db)
        .await?)
}

/// The org an invoice belongs to, for the permission check.
pub(crate) async fn find(
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> Result<Option<invoices::Model>> {
    Ok(invoices::Entity::find_by_id(id).one(db).await?)
}
