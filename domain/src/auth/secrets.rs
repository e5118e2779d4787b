//! Random secrets and how they are stored: only a SHA-256 hash ever reaches the database.
//! The secrets are 256-bit random values, so a fast hash is enough (no dictionary to guess).

use rand::Rng;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A URL-safe token with 256 bits of entropy (refresh tokens, email links, invitations).
pub fn random_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = OsRng.r#gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn hashes_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub const API_TOKEN_MARK: &str = "knt_";
/// Deployment keys: they call one deployment's endpoint and nothing else.
pub const DEPLOYMENT_KEY_MARK: &str = "kdk_";
const LOOKUP_LEN: usize = 8;
const SECRET_LEN: usize = 40;

/// A prefixed secret (an API token, a deployment key): the mark, 8 characters to find the
/// row by, 40 secret ones (238 bits).
pub struct PrefixedSecret {
    pub token: String,
    pub prefix: String,
}

pub fn new_prefixed_secret(mark: &str) -> PrefixedSecret {
    let body: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(LOOKUP_LEN + SECRET_LEN)
        .map(char::from)
        .collect();
    let token = format!("{mark}{body}");
    let prefix = token[..mark.len() + LOOKUP_LEN].to_string();
    PrefixedSecret { token, prefix }
}

/// The lookup prefix of a presented secret with `mark`, if it has the right shape.
pub fn lookup_prefix<'a>(mark: &str, token: &'a str) -> Option<&'a str> {
    let well_formed = token.len() == mark.len() + LOOKUP_LEN + SECRET_LEN
        && token.starts_with(mark)
        && token[mark.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| &token[..mark.len() + LOOKUP_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_have_a_lookup_prefix() {
        let secret = new_prefixed_secret(API_TOKEN_MARK);
        assert!(secret.token.starts_with("knt_"));
        assert_eq!(
            lookup_prefix(API_TOKEN_MARK, &secret.token),
            Some(secret.prefix.as_str())
        );
        assert_eq!(lookup_prefix(API_TOKEN_MARK, "knt_short"), None);
        assert_eq!(lookup_prefix(DEPLOYMENT_KEY_MARK, &secret.token), None);
        assert_ne!(new_prefixed_secret(API_TOKEN_MARK).token, secret.token);
    }

    #[test]
    fn tokens_are_stored_as_hashes() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert!(hashes_match(&hash(&token), &hash(&token)));
        assert!(!hashes_match(&hash(&token), &hash("other")));
    }
}
