//! `Stripe-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, with
//! several `v1` while the endpoint's secret is being rolled. Verified on the raw bytes, in
//! constant time, with Stripe's own tolerance of five minutes against replays.

use crate::error::{Error, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(crate) const TOLERANCE_SECS: i64 = 300;

pub(crate) fn verify(header: &str, payload: &[u8], secret: &str, now: i64) -> Result<()> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let (Some(signed_at), false) = (timestamp, signatures.is_empty()) else {
        return Err(refused("Stripe-Signature needs t=… and v1=…"));
    };
    let seconds: i64 = signed_at
        .parse()
        .map_err(|_| refused("the Stripe-Signature timestamp is not a number"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| refused("the webhook secret cannot key an HMAC"))?;
    // Signed as sent: the timestamp's own text, a dot, the body's bytes.
    mac.update(signed_at.as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    let matches = signatures
        .iter()
        .filter_map(|candidate| hex::decode(candidate).ok())
        .any(|candidate| bool::from(candidate.as_slice().ct_eq(expected.as_slice())));
    if !matches {
        return Err(refused("the signature does not match the body"));
    }
    if (now - seconds).abs() > TOLERANCE_SECS {
        return Err(refused(
            "the signature's timestamp is more than 5 minutes from now",
        ));
    }
    Ok(())
}

fn refused(reason: &str) -> Error {
    Error::Webhook(reason.to_string())
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    fn sign(at: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{at}.").as_bytes());
        mac.update(body);
        format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_good_signature_within_tolerance_passes() {
        let body = br#"{"id":"evt_1"}"#;
        let at = 1_800_000_000;
        assert!(verify(&sign(at, body), body, SECRET, at + TOLERANCE_SECS).is_ok());
        // A second v1 (a rolled secret) may come first.
        let header = format!(
            "t={at},v1=00ff,{}",
            &sign(at, body)[format!("t={at},").len()..]
        );
        assert!(verify(&header, body, SECRET, at).is_ok());
    }

    #[test]
    fn bad_stale_and_malformed_signatures_are_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let at = 1_800_000_000;
        let good = sign(at, body);
        for (header, payload, now) in [
            (good.as_str(), &br#"{"id":"evt_2"}"#[..], at),
            (good.as_str(), &body[..], at + TOLERANCE_SECS + 1),
            (good.as_str(), &body[..], at - TOLERANCE_SECS - 1),
            ("t=1800000000", &body[..], at),
            ("v1=abcd", &body[..], at),
            ("t=soon,v1=abcd", &body[..], at),
            ("", &body[..], at),
        ] {
            assert!(
                matches!(verify(header, payload, SECRET, now), Err(Error::Webhook(_))),
                "{header} should be refused"
            );
        }
        let other = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_other").unwrap();
            mac.update(format!("{at}.").as_bytes());
            mac.update(body);
            format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
        };
        assert!(verify(&other, body, SECRET, at).is_err());
    }
}
