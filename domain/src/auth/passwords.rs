//! argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane). Hashing costs
//! tens of milliseconds of CPU, so it runs on the blocking pool, off the async workers.

use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether a stored hash was made otherwise than [`hash`] makes them now (weaker parameters
/// from before a policy change, another variant or version). Sign-in re-hashes such a hash
/// with the password it just verified, so accounts follow the policy without a reset.
pub fn is_outdated(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let same_params = Params::try_from(&parsed)
        .is_ok_and(|p| (p.m_cost(), p.t_cost(), p.p_cost()) == (MEMORY_KIB, ITERATIONS, LANES));
    !(same_params
        && parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into()))
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

/// The hash of a random password nobody knows, with the same parameters as real hashes. A
/// sign-in for an unknown email is verified against it, so it costs as long as one for a
/// known email, and fails the same way.
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Xv7QvUZxCx6hO0oXw3Clgw$80RlOyV5KcK5s6rek0pYs5tHI8QXHvVFW3QtP9obEDI";

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

    #[tokio::test]
    async fn hashes_with_other_parameters_are_outdated() {
        let current = hash("correct horse battery".into()).await.expect("hash");
        assert!(!is_outdated(&current));
        assert!(!is_outdated(DECOY_HASH));
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        );
        let salt = SaltString::generate(&mut OsRng);
        let weak = weaker
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        assert!(is_outdated(&weak));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("params"),
        );
        let other_variant = argon2i
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        assert!(is_outdated(&other_variant));
        assert!(is_outdated("not a hash"));
    }

    #[tokio::test]
    async fn the_decoy_hash_is_valid_and_matches_nothing_known() {
        for guess in ["", "correct horse battery"] {
            let matched = verify(guess.into(), DECOY_HASH.into()).await;
            assert!(!matched.expect("the decoy is a valid hash"));
        }
    }
}
