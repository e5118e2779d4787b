//! argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane). Hashing costs
//! tens of milliseconds of CPU, so it runs on the blocking pool, off the async workers.

use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// `false` for a wrong password; an unparsable stored hash is an internal error.
pub async fn verify(password: String, stored: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored hash: {e}")))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// A hash of a random password, verified against when the account does not exist, so a
/// failed sign-in takes as long whether or not the email is registered.
pub async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            hash(super::secrets::random_token())
                .await
                .unwrap_or_default()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery".into(), stored.clone())
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse battery".into(), stored)
                .await
                .expect("verify")
        );
    }
}
