//! The domain's settings. The server binary fills them from its layered configuration.

use chrono::Duration;

#[derive(Clone, Debug)]
pub struct DomainConfig {
    /// Where people reach the platform; links in emails start with it.
    pub public_url: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub invitation_ttl: Duration,
    pub email_verification_ttl: Duration,
    pub password_reset_ttl: Duration,
    /// Password-reset and verification emails one address may get in any hour; requests
    /// over it are answered the same but send nothing.
    pub account_emails_per_hour: u32,
    pub api_token_default_ttl: Duration,
    pub api_token_max_ttl: Duration,
    pub throttle: ThrottleConfig,
    /// Largest dataset archive accepted.
    pub max_upload_bytes: u64,
    /// How long signed upload and download URLs work.
    pub signed_url_ttl: std::time::Duration,
    /// Scratch space for imports (unpacked archives); emptied after each.
    pub work_dir: std::path::PathBuf,
    pub import_limits: keynet_datasets::Limits,
    /// Stored files used this recently are never collected, even when unreferenced.
    pub blob_gc_grace: Duration,
}

#[derive(Clone, Debug)]
pub struct ThrottleConfig {
    /// Failures after which each further attempt is answered more slowly.
    pub slow_after: i32,
    /// Failures within `window` after which the key is locked out.
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for DomainConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            jwt_issuer: "keynet".into(),
            jwt_audience: "keynet-api".into(),
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(30),
            invitation_ttl: Duration::days(7),
            email_verification_ttl: Duration::days(2),
            password_reset_ttl: Duration::hours(1),
            account_emails_per_hour: 5,
            api_token_default_ttl: Duration::days(90),
            api_token_max_ttl: Duration::days(366),
            throttle: ThrottleConfig::default(),
            max_upload_bytes: 10 << 30,
            signed_url_ttl: std::time::Duration::from_secs(3600),
            work_dir: std::env::temp_dir(),
            import_limits: keynet_datasets::Limits::default(),
            blob_gc_grace: Duration::hours(1),
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            slow_after: 3,
            max_failures: 10,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
        }
    }
}
