//! Checks shared by both stores, so they refuse the same keys and lifetimes.

use keynet_domain::storage::{StorageError, StorageResult, valid_key};
use std::time::Duration;

/// S3 refuses presigned URLs valid for longer; the local store keeps the same limit so a
/// caller behaves the same on either.
pub(crate) const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub(crate) fn check_key(key: &str) -> StorageResult<()> {
    if valid_key(key) {
        return Ok(());
    }
    // Keys may come from user input: show a bounded, escaped prefix only.
    let shown: String = key.chars().take(80).collect();
    Err(StorageError::Backend(anyhow::anyhow!(
        "invalid blob key {shown:?}: keys are relative paths of [A-Za-z0-9._-] segments \
         (no empty, `.` or `..` segment, at most 512 bytes)"
    )))
}

pub(crate) fn check_ttl(ttl: Duration) -> StorageResult<()> {
    if ttl.is_zero() || ttl > MAX_URL_TTL {
        return Err(StorageError::Backend(anyhow::anyhow!(
            "a signed URL must be valid for between 1 second and 7 days, not {ttl:?}"
        )));
    }
    Ok(())
}
