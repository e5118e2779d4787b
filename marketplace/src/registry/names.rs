//! Repository names, tags and digests as the distribution spec defines them.

use super::{RegistryCode, refuse};
use crate::error::Result;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// A content digest. Only `sha256` is accepted: it is what every Docker and OCI client
/// sends, and one algorithm keeps "same bytes, same digest" true across the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Self> {
        let hex = text.strip_prefix("sha256:").ok_or_else(|| {
            refuse(
                RegistryCode::DigestInvalid,
                format!("{text:?} is not a sha256 digest (sha256:<64 hex digits>)"),
            )
        })?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(refuse(
                RegistryCode::DigestInvalid,
                format!("{text:?}: a sha256 digest has 64 lowercase hex digits"),
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Self {
        Self(format!("sha256:{}", hex::encode(hasher.finalize())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, for storage keys.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest request names: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    pub fn parse(text: &str) -> Result<Self> {
        if text.contains(':') {
            return Digest::parse(text).map(Self::Digest);
        }
        // `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, the spec's tag grammar.
        let valid = (1..=128).contains(&text.len())
            && text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            return Err(refuse(
                RegistryCode::ManifestInvalid,
                format!(
                    "{text:?} is neither a digest nor a tag (letters, digits, `_`, `.`, `-`; up to 128, not starting with `.` or `-`)"
                ),
            ));
        }
        Ok(Self::Tag(text.to_string()))
    }
}

/// `<org-slug>/<trainer-slug>`, the only shape of repository this registry holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryName {
    pub org: String,
    pub trainer: String,
}

impl RepositoryName {
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = text.split('/');
        let (Some(org), Some(trainer), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(refuse(
                RegistryCode::NameInvalid,
                format!("repository {text:?} must be <organization>/<trainer>, by their slugs"),
            ));
        };
        let component = |c: &str| {
            !c.is_empty()
                && c.len() <= 100
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !component(org) || !component(trainer) {
            return Err(refuse(
                RegistryCode::NameInvalid,
                format!("repository {text:?}: slugs are lowercase letters, digits and `-`"),
            ));
        }
        Ok(Self {
            org: org.to_string(),
            trainer: trainer.to_string(),
        })
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.trainer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_hex() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&good).expect("valid").hex(), "a".repeat(64));
        for bad in [
            "sha256:abc".to_string(),
            format!("sha512:{}", "a".repeat(128)),
            format!("sha256:{}", "A".repeat(64)),
            "a".repeat(64),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert_eq!(
            Reference::parse("v1.0_rc-2").expect("tag"),
            Reference::Tag("v1.0_rc-2".into())
        );
        assert!(matches!(
            Reference::parse(&format!("sha256:{}", "0".repeat(64))),
            Ok(Reference::Digest(_))
        ));
        for bad in ["", ".hidden", "-x", "a/b", &"t".repeat(129)] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repositories_are_org_and_trainer_slugs() {
        let name = RepositoryName::parse("acme/detector-2").expect("valid");
        assert_eq!(
            (name.org.as_str(), name.trainer.as_str()),
            ("acme", "detector-2")
        );
        for bad in ["acme", "acme/x/y", "Acme/x", "acme/", "/x", "acme/x_y"] {
            assert!(RepositoryName::parse(bad).is_err(), "{bad}");
        }
    }
}
