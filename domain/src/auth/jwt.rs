//! Short-lived access tokens: HS256 JWTs with a `kid` header so keys can be rotated (old keys
//! still verify, only the current one signs). Verification pins the algorithm, issuer,
//! audience, expiry and not-before time; a token naming another algorithm or `none` never
//! verifies.

use crate::error::{Error, Result};
use crate::ids::{SessionFamilyId, UserId};
use crate::time::{Timestamp, now};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Allowed clock difference between servers; the issue caps it at 30 s.
const LEEWAY_SECS: u64 = 5;
const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    /// The session (refresh-token family) this access token belongs to.
    pub sid: SessionFamilyId,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    /// Not before: the token is refused until then (beyond the clock leeway).
    pub nbf: i64,
    pub exp: i64,
}

/// A download link's token: one resource, for a short while. Its audience differs from the
/// sessions', so neither kind of token passes for the other.
#[derive(Debug, Serialize, Deserialize)]
struct DownloadClaims {
    sub: String,
    iss: String,
    aud: String,
    nbf: i64,
    exp: i64,
}

struct VerifyKey {
    kid: String,
    key: DecodingKey,
}

pub struct JwtKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: Vec<VerifyKey>,
    validation: Validation,
    download_validation: Validation,
    issuer: String,
    audience: String,
}

fn download_audience(audience: &str) -> String {
    format!("{audience}/downloads")
}

/// The key id is derived from the secret, so every instance given the same secret agrees on it.
fn key_id(secret: &[u8]) -> String {
    hex::encode(&Sha256::digest(secret)[..8])
}

impl JwtKeys {
    /// `current` signs; `previous` secrets still verify tokens issued before a rotation.
    pub fn new(current: &[u8], previous: &[Vec<u8>], issuer: &str, audience: &str) -> Result<Self> {
        if let Some(short) = std::iter::once(current)
            .chain(previous.iter().map(Vec::as_slice))
            .find(|secret| secret.len() < MIN_SECRET_LEN)
        {
            return Err(Error::invalid(
                "auth.jwt_secret",
                format!(
                    "a JWT secret needs at least {MIN_SECRET_LEN} bytes, got {}",
                    short.len()
                ),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        // Every token Keynet signs carries `nbf`; one without it was not made here.
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let mut download_validation = validation.clone();
        download_validation.set_audience(&[download_audience(audience)]);
        Ok(Self {
            signing_kid: key_id(current),
            signing: EncodingKey::from_secret(current),
            verifying: std::iter::once(current)
                .chain(previous.iter().map(Vec::as_slice))
                .map(|secret| VerifyKey {
                    kid: key_id(secret),
                    key: DecodingKey::from_secret(secret),
                })
                .collect(),
            validation,
            download_validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        })
    }

    pub fn sign(
        &self,
        user: UserId,
        family: SessionFamilyId,
        issued: Timestamp,
        expires: Timestamp,
    ) -> Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        let claims = Claims {
            sub: user,
            sid: family,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: issued.timestamp(),
            nbf: issued.timestamp(),
            exp: expires.timestamp(),
        };
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| Error::Internal(e.into()))
    }

    /// A token for a download link to `subject` (e.g. `snapshot:<id>`).
    pub fn sign_download(&self, subject: &str, expires: Timestamp) -> Result<String> {
        self.sign_claims(&DownloadClaims {
            sub: subject.to_string(),
            iss: self.issuer.clone(),
            aud: download_audience(&self.audience),
            nbf: now().timestamp(),
            exp: expires.timestamp(),
        })
    }

    /// The subject of a valid download token; anything else is `Unauthenticated`.
    pub fn verify_download(&self, token: &str) -> Result<String> {
        self.verify_claims::<DownloadClaims>(token, &self.download_validation)
            .map(|claims| claims.sub)
    }

    /// The audience of tokens made for one purpose (e.g. `registry`): such a token opens
    /// what checks that audience and nothing else, and no other token opens it.
    pub fn purpose_audience(&self, purpose: &str) -> String {
        format!("{}/{purpose}", self.audience)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sign_claims(&self, claims: &impl Serialize) -> Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(|e| Error::Internal(e.into()))
    }

    /// Verifies with the session validation but for `audience`.
    pub fn verify_for_audience<T: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<T> {
        let mut validation = self.validation.clone();
        validation.set_audience(&[audience]);
        self.verify_claims(token, &validation)
    }

    fn verify_claims<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthenticated)?;
        let key = header
            .kid
            .and_then(|kid| self.verifying.iter().find(|k| k.kid == kid))
            .filter(|_| header.alg == Algorithm::HS256)
            .ok_or(Error::Unauthenticated)?;
        jsonwebtoken::decode::<T>(token, &key.key, validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated)
    }

    /// Any failure (malformed, unknown key, wrong algorithm, expired, wrong audience) is
    /// `Unauthenticated`; the reason goes to the debug log only.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            tracing::debug!(error = %e, "unreadable access token");
            Error::Unauthenticated
        })?;
        if header.alg != Algorithm::HS256 {
            tracing::debug!(alg = ?header.alg, "access token with a foreign algorithm");
            return Err(Error::Unauthenticated);
        }
        let key = header
            .kid
            .and_then(|kid| self.verifying.iter().find(|k| k.kid == kid))
            .ok_or(Error::Unauthenticated)?;
        jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "access token refused");
                Error::Unauthenticated
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::Duration;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER: &[u8] = b"fedcba9876543210fedcba9876543210";

    fn keys(current: &[u8], previous: &[Vec<u8>]) -> JwtKeys {
        JwtKeys::new(current, previous, "keynet", "keynet-api").expect("keys")
    }

    fn token(keys: &JwtKeys, ttl: Duration) -> String {
        let at = now();
        keys.sign(UserId::new(), SessionFamilyId::new(), at, at + ttl)
            .expect("sign")
    }

    #[test]
    fn round_trip_and_rotation() {
        let old = keys(SECRET, &[]);
        let issued = token(&old, Duration::minutes(15));
        assert!(old.verify(&issued).is_ok());
        let rotated = keys(OTHER, &[SECRET.to_vec()]);
        assert!(
            rotated.verify(&issued).is_ok(),
            "previous key still verifies"
        );
        assert!(keys(OTHER, &[]).verify(&issued).is_err(), "dropped key");
    }

    #[test]
    fn expired_tokens_are_refused() {
        let k = keys(SECRET, &[]);
        assert!(k.verify(&token(&k, Duration::seconds(-60))).is_err());
    }

    #[test]
    fn tokens_carry_nbf_and_a_future_one_is_refused() {
        let k = keys(SECRET, &[]);
        let issued = now();
        let claims = k
            .verify(&token(&k, Duration::minutes(5)))
            .expect("a fresh token verifies");
        assert_eq!(claims.nbf, claims.iat, "valid from the moment it is issued");
        let from = |offset: Duration| {
            let start = issued + offset;
            k.sign(
                UserId::new(),
                SessionFamilyId::new(),
                start,
                start + Duration::minutes(5),
            )
            .expect("sign")
        };
        let within_leeway = Duration::seconds(LEEWAY_SECS as i64 - 2);
        assert!(
            k.verify(&from(within_leeway)).is_ok(),
            "clock skew is tolerated"
        );
        assert!(
            k.verify(&from(Duration::minutes(1))).is_err(),
            "not yet valid"
        );
    }

    #[test]
    fn tokens_without_nbf_are_refused() {
        #[derive(Serialize)]
        struct WithoutNbf {
            sub: UserId,
            sid: SessionFamilyId,
            iss: &'static str,
            aud: &'static str,
            iat: i64,
            exp: i64,
        }
        let k = keys(SECRET, &[]);
        let at = now().timestamp();
        let token = k
            .sign_claims(&WithoutNbf {
                sub: UserId::new(),
                sid: SessionFamilyId::new(),
                iss: "keynet",
                aud: "keynet-api",
                iat: at,
                exp: at + 300,
            })
            .expect("sign");
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn alg_none_and_tampering_are_refused() {
        let k = keys(SECRET, &[]);
        let issued = token(&k, Duration::minutes(5));
        let mut parts: Vec<&str> = issued.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = &none_header;
        assert!(k.verify(&format!("{}.{}.", parts[0], parts[1])).is_err());
        let tampered = issued.replace(parts[1], &URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#));
        assert!(k.verify(&tampered).is_err());
    }

    #[test]
    fn download_tokens_and_session_tokens_do_not_mix() {
        let k = keys(SECRET, &[]);
        let download = k
            .sign_download("snapshot:1", now() + Duration::minutes(5))
            .expect("sign");
        assert_eq!(k.verify_download(&download).expect("valid"), "snapshot:1");
        assert!(k.verify(&download).is_err(), "not a session");
        assert!(
            k.verify_download(&token(&k, Duration::minutes(5))).is_err(),
            "not a download"
        );
        let expired = k
            .sign_download("snapshot:1", now() - Duration::minutes(5))
            .expect("sign");
        assert!(k.verify_download(&expired).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::new(b"short", &[], "i", "a").is_err());
    }
}
