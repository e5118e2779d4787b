//! Where the S3 store keeps its blobs and how it signs in. Part of the platform's settings.

use crate::Error;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    /// `https://…` of an S3-compatible service (MinIO, Ceph, R2, …); default: AWS S3 of
    /// `region`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Address the bucket in the path (`endpoint/bucket/key`) rather than the host name;
    /// most S3-compatible services need it.
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: String::new(),
            path_style: false,
            access_key_id: String::new(),
            secret_access_key: String::new(),
        }
    }
}

/// Never prints the secret key: settings end up in logs.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Settings {
    /// Checks every value; the error names the field (`bucket`, `region`, …).
    pub fn check(&self) -> Result<(), Error> {
        let refuse = |key, reason: &str| {
            Err(Error::Setting {
                key,
                reason: reason.to_string(),
            })
        };
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return refuse("endpoint", "must start with http:// or https://");
        }
        if self.region.trim().is_empty() {
            return refuse("region", "is required (e.g. us-east-1)");
        }
        if !valid_bucket_name(&self.bucket) {
            return refuse(
                "bucket",
                "must be 3 to 63 lowercase letters, digits, dots or hyphens, \
                 starting and ending with a letter or digit",
            );
        }
        if self.access_key_id.is_empty() {
            return refuse("access_key_id", "is required");
        }
        if self.secret_access_key.is_empty() {
            return refuse("secret_access_key", "is required");
        }
        Ok(())
    }
}

/// S3's bucket naming rule, which S3-compatible services follow too.
fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::S3Settings;

    fn complete() -> S3Settings {
        S3Settings {
            bucket: "keynet-blobs".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
            ..S3Settings::default()
        }
    }

    #[test]
    fn check_names_the_refused_field() {
        assert!(complete().check().is_ok());
        let cases = [
            (
                "bucket",
                S3Settings {
                    bucket: "Bad_Bucket".into(),
                    ..complete()
                },
            ),
            (
                "region",
                S3Settings {
                    region: " ".into(),
                    ..complete()
                },
            ),
            (
                "endpoint",
                S3Settings {
                    endpoint: Some("localhost:9000".into()),
                    ..complete()
                },
            ),
            (
                "access_key_id",
                S3Settings {
                    access_key_id: String::new(),
                    ..complete()
                },
            ),
            (
                "secret_access_key",
                S3Settings {
                    secret_access_key: String::new(),
                    ..complete()
                },
            ),
        ];
        for (field, settings) in cases {
            match settings.check() {
                Err(crate::Error::Setting { key, .. }) => assert_eq!(key, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", complete());
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
