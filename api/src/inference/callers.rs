//! Who calls, checked once a second per credential rather than per request: the caller
//! behind a bearer credential is kept for [`CALLER_TTL`] (a revoked or expired key stops
//! working within that), and each deployment key's own rate limit is a token bucket in
//! this instance.

use super::expiring::Expiring;
use keynet_domain::deployments::keys::Caller;
use keynet_domain::ids::DeploymentKeyId;
use keynet_domain::{Domain, Error};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an authenticated caller is trusted without asking the database again.
pub const CALLER_TTL: Duration = Duration::from_secs(1);

pub struct Callers {
    /// By the SHA-256 of the credential: the secret itself is never kept.
    known: Expiring<[u8; 32], Option<Caller>>,
    buckets: Mutex<HashMap<DeploymentKeyId, Bucket>>,
}

impl Default for Callers {
    fn default() -> Self {
        Self {
            known: Expiring::new(CALLER_TTL),
            buckets: Mutex::default(),
        }
    }
}

impl Callers {
    /// The caller behind `bearer`; `Unauthenticated` for an unknown, revoked or expired one.
    pub async fn authenticate(
        &self,
        domain: &Domain,
        bearer: &str,
        client_addr: Option<String>,
    ) -> Result<Caller, Error> {
        let digest: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
        if let Some(caller) = self.known.get(&digest) {
            return caller.ok_or(Error::Unauthenticated);
        }
        let found = match domain.authenticate_caller(bearer, client_addr).await {
            Ok(caller) => Some(caller),
            Err(Error::Unauthenticated | Error::CredentialRejected) => None,
            Err(other) => return Err(other),
        };
        self.known.put(digest, found.clone());
        found.ok_or(Error::Unauthenticated)
    }

    /// Takes one request from the key's bucket; `Err(wait)` when it is empty.
    pub fn take(&self, key: DeploymentKeyId, per_second: i32) -> Result<(), Duration> {
        let rate = f64::from(per_second.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key).or_insert_with(|| Bucket {
            tokens: rate,
            at: Instant::now(),
        });
        bucket.take(rate)
    }
}

/// A token bucket holding at most one second of requests.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, rate: f64) -> Result<(), Duration> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_rate_then_refuses_with_the_wait() {
        let mut bucket = Bucket {
            tokens: 2.0,
            at: Instant::now(),
        };
        assert!(bucket.take(2.0).is_ok());
        assert!(bucket.take(2.0).is_ok());
        let wait = bucket
            .take(2.0)
            .expect_err("the third request of the second waits");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
    }
}
