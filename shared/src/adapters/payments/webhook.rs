//! Stripe's webhook signature scheme, used by every provider (the sandbox
//! signs its events the same way, so local runs exercise this path).
//!
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
//! possibly with several `v1` entries (while a secret is rolled) and other
//! schemes, which are ignored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::foundation::secret::Secret;

/// How far the timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn mac(secret: &Secret, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks `header` against the raw `body`, before anything is parsed.
pub fn verify(secret: &Secret, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    let t: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // `abs_diff`: a timestamp at the far end of i64 cannot overflow.
    if now.abs_diff(t) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    let matches = signatures
        .iter()
        .any(|hex| decode_hex(hex).is_some_and(|bytes| expected.clone().verify_slice(&bytes).is_ok()));
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value signing `body` at `timestamp` (what the provider, the
/// operator tool and the tests send).
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_773_600;

    fn secret() -> Secret {
        Secret::new("whsec_test_secret")
    }

    #[test]
    fn accepts_a_valid_signature() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(&secret(), NOW, body);
        assert_eq!(verify(&secret(), Some(&header), body, NOW + 10), Ok(()));
    }

    #[test]
    fn refuses_the_wrong_secret_and_a_tampered_body() {
        let body = br#"{"amount":100}"#;
        let header = sign(&secret(), NOW, body);
        assert_eq!(
            verify(&Secret::new("whsec_other"), Some(&header), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), Some(&header), br#"{"amount":1}"#, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_stale_and_future_timestamps() {
        let body = b"{}";
        let header = sign(&secret(), NOW - TOLERANCE_SECS - 1, body);
        assert_eq!(
            verify(&secret(), Some(&header), body, NOW),
            Err(SignatureError::Stale)
        );
        let header = sign(&secret(), NOW + TOLERANCE_SECS + 1, body);
        assert_eq!(
            verify(&secret(), Some(&header), body, NOW),
            Err(SignatureError::Stale)
        );
        let header = sign(&secret(), NOW - TOLERANCE_SECS, body);
        assert_eq!(verify(&secret(), Some(&header), body, NOW), Ok(()));
    }

    #[test]
    fn timestamps_at_the_ends_of_the_range_are_stale_not_a_panic() {
        let body = b"{}";
        for t in [i64::MIN, i64::MAX] {
            let header = format!("t={t},v1={}", "ab".repeat(32));
            assert_eq!(
                verify(&secret(), Some(&header), body, NOW),
                Err(SignatureError::Stale)
            );
        }
    }

    #[test]
    fn any_of_several_v1_entries_may_match() {
        let body = b"{}";
        let good = sign(&secret(), NOW, body);
        let good_v1 = good.split_once(",v1=").expect("v1").1;
        let header = format!("t={NOW},v1={},v0=ignored,v1={good_v1}", "ab".repeat(32));
        assert_eq!(verify(&secret(), Some(&header), body, NOW), Ok(()));
    }

    #[test]
    fn refuses_missing_and_malformed_headers() {
        let body = b"{}";
        assert_eq!(verify(&secret(), None, body, NOW), Err(SignatureError::Missing));
        for header in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={NOW}"),
            &format!("t={NOW},v1=zz"),
        ] {
            assert!(verify(&secret(), Some(header), body, NOW).is_err(), "{header:?}");
        }
    }
}
