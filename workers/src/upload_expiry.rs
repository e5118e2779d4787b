//! Withdraws the trainer versions whose upload key expired unused: they leave
//! `AWAITING_UPLOAD` for `EXPIRED` (their version number stays taken). Every worker host
//! runs it; the update is conditional on the status, so hosts racing expire a version once.

use keynet_marketplace::Marketplace;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Keys live for hours: a minute late is soon enough.
const EVERY: Duration = Duration::from_secs(60);

pub async fn run(marketplace: Arc<Marketplace>, stop: CancellationToken) {
    loop {
        match marketplace.expire_unused_upload_keys().await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "versions whose upload key expired unused"),
            Err(e) => tracing::warn!(error = %e, "expiring unused upload keys failed; will retry"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
