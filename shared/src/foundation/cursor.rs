//! Opaque, authenticated pagination cursors.
//!
//! A cursor is the key of the last item of a page, with an HMAC-SHA256 tag
//! over that key *and the scope of the listing* (`products`, `category:…`,
//! `orders:<user>`). A tampered cursor, or one taken from another listing,
//! fails verification, so no cursor can reach data outside its listing.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::foundation::error::Error;
use crate::foundation::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The string attributes of an item's key in a listing's index.
pub type Key = BTreeMap<String, String>;

fn mac(secret: &Secret, scope: &str, payload: &[u8]) -> HmacSha256 {
    // Domain separation: this key is used for cursors and nothing else.
    let mut mac =
        HmacSha256::new_from_slice(secret.expose()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(b"shop/cursor/v1\0");
    mac.update(scope.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac
}

pub fn encode(secret: &Secret, scope: &str, key: &Key) -> String {
    let payload = serde_json::to_vec(key).unwrap_or_default();
    let tag = mac(secret, scope, &payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

pub fn decode(secret: &Secret, scope: &str, cursor: &str) -> Result<Key, Error> {
    let invalid = || Error::invalid("cursor", "is not a valid cursor for this listing");
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    mac(secret, scope, &payload)
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    serde_json::from_slice(&payload).map_err(|_| invalid())
}

/// `limit`: 1..=100, default 20.
pub fn parse_limit(raw: Option<&str>) -> Result<usize, Error> {
    match raw {
        None => Ok(20),
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=100) => Ok(n),
            _ => Err(Error::invalid("limit", "must be an integer from 1 to 100")),
        },
    }
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One page of a short listing read whole (markets, tax and duty rates):
/// `all` in the order of `sort_key`, `limit` items after the one the cursor
/// names (even if it has gone since), and a cursor naming the page's last.
pub fn page_of<T>(
    secret: &Secret,
    scope: &str,
    all: Vec<T>,
    sort_key: impl Fn(&T) -> String,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<T>, Error> {
    let after = match cursor {
        Some(cursor) => Some(
            decode(secret, scope, cursor)?
                .remove("after")
                .ok_or_else(|| Error::invalid("cursor", "is not a valid cursor for this listing"))?,
        ),
        None => None,
    };
    let mut items: Vec<T> = all
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|after| sort_key(item) > *after))
        .take(limit + 1)
        .collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        let last = items.last().map(&sort_key).unwrap_or_default();
        Some(encode(secret, scope, &Key::from([("after".to_owned(), last)])))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("c".repeat(32))
    }

    fn key() -> Key {
        Key::from([
            ("PK".into(), "PRODUCT#1".into()),
            ("GSI1SK".into(), "2026#1".into()),
        ])
    }

    #[test]
    fn round_trips_within_its_scope() {
        let cursor = encode(&secret(), "products", &key());
        assert_eq!(decode(&secret(), "products", &cursor).expect("valid"), key());
    }

    #[test]
    fn refuses_other_scopes_keys_and_tampering() {
        let cursor = encode(&secret(), "orders:alice", &key());
        assert!(
            decode(&secret(), "orders:bob", &cursor).is_err(),
            "another user's listing"
        );
        assert!(
            decode(&Secret::new("d".repeat(32)), "orders:alice", &cursor).is_err(),
            "another key"
        );
        let (payload, tag) = cursor.split_once('.').expect("two parts");
        let mut forged = key();
        forged.insert("PK".into(), "PRODUCT#2".into());
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert!(decode(&secret(), "orders:alice", &format!("{forged_payload}.{tag}")).is_err());
        assert!(decode(&secret(), "orders:alice", payload).is_err(), "no tag");
        assert!(decode(&secret(), "orders:alice", "%%%.###").is_err());
    }

    #[test]
    fn limits_are_1_to_100() {
        assert_eq!(parse_limit(None).expect("default"), 20);
        assert_eq!(parse_limit(Some("100")).expect("max"), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
