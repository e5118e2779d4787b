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
const LOOKUP_LEN: usize = 8;
const SECRET_LEN: usize = 40;

/// An API token: `knt_`, 8 characters to find the row by, 40 secret ones (238 bits).
pub struct ApiTokenSecret {
    pub token: String,
    pub prefix: String,
}

pub fn new_api_token() -> ApiTokenSecret {
    let body: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(LOOKUP_LEN + SECRET_LEN)
        .map(char::from)
        .collect();
    let token = format!("{API_TOKEN_MARK}{body}");
    let prefix = token[..API_TOKEN_MARK.len() + LOOKUP_LEN].to_string();
    ApiTokenSecret { token, prefix }
}

/// The lookup prefix of a presented API token, if it has the right shape.
pub fn api_token_prefix(token: &str) -> Option<&str> {
    let well_formed = token.len() == API_TOKEN_MARK.len() + LOOKUP_LEN + SECRET_LEN
        && token.starts_with(API_TOKEN_MARK)
        && token[API_TOKEN_MARK.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| &token[..API_TOKEN_MARK.len() + LOOKUP_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_have_a_lookup_prefix() {
        let secret = new_api_token();
        assert!(secret.token.starts_with("knt_"));
        assert_eq!(
            api_token_prefix(&secret.token),
            Some(secret.prefix.as_str())
        );
        assert_eq!(api_token_prefix("knt_short"), None);
        assert_ne!(new_api_token().token, secret.token);
    }

    #[test]
    fn tokens_are_stored_as_hashes() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert!(hashes_match(&hash(&token), &hash(&token)));
        assert!(!hashes_match(&hash(&token), &hash("other")));
    }
}
