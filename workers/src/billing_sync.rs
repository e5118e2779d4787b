//! Billing's periodic work: drafting the invoices of the period that ended and, with Stripe
//! configured, sending the ledger's new usage to Stripe and comparing Stripe's totals with
//! the ledger. Every worker host runs it; the database keeps one invoice per organization
//! and period, so hosts racing for one draft it once, and Stripe keeps one meter event per
//! identifier, so usage two hosts send at once counts once.

use keynet_billing::Billing;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Reconciliation asks Stripe for every customer's meters: hourly is often enough to see
/// drift, and spares Stripe's rate limits.
const RECONCILE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(billing: Arc<Billing>, every: Duration, stop: CancellationToken) {
    let mut reconciled: Option<Instant> = None;
    loop {
        match billing.draft_due_invoices().await {
            Ok(0) => {}
            Ok(drafted) => tracing::info!(drafted, "invoices drafted for the period that ended"),
            Err(e) => tracing::warn!(error = %e, "drafting invoices failed; will retry"),
        }
        if billing.stripe_enabled() {
            push_usage(&billing).await;
            if reconciled.is_none_or(|at| at.elapsed() >= RECONCILE_EVERY)
                && reconcile(&billing).await
            {
                reconciled = Some(Instant::now());
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

async fn push_usage(billing: &Billing) {
    match billing.push_usage_to_stripe().await {
        Ok(report) if report.failed > 0 || report.refused > 0 => tracing::warn!(
            sent = report.sent,
            failed = report.failed,
            refused = report.refused,
            "usage sent to Stripe in part; the failed goes again next round, the refused never"
        ),
        Ok(report) if report.sent > 0 => {
            tracing::info!(sent = report.sent, "usage sent to Stripe")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sending usage to Stripe failed; will retry"),
    }
}

/// Whether the comparison ran (a failed one is tried again next round).
async fn reconcile(billing: &Billing) -> bool {
    match billing.reconcile_stripe().await {
        Ok(drift) => {
            if !drift.is_empty() {
                // Each drifting meter was logged with its numbers.
                tracing::warn!(
                    meters = drift.len(),
                    "Stripe's meter totals differ from the ledger"
                );
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "comparing Stripe's meter totals failed; will retry");
            false
        }
    }
}
