//! Verified accounts and password resets: single-use tokens sent by email
//! (decision 70). Pure: issuing, hashing and judging a token.
//!
//! A token is `HMAC-SHA256(ACCOUNT_TOKEN_SECRET, "<purpose>:<id>")`,
//! URL-safe base64, for a random id. The table keeps the id and the
//! token's SHA-256 only: what reaches the stream (the notifier's outbox)
//! and backups cannot be presented, and the notifier, holding the secret,
//! derives the token from the id to write it into the email.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::foundation::input::{Errors, FromJson, Object};
use crate::foundation::secret::Secret;
use crate::model::auth::Password;
use crate::model::users::Email;

/// A verification link works for 24 hours, a reset link for one.
pub const VERIFY_TTL_SECS: i64 = 24 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
        }
    }

    fn ttl_secs(self) -> i64 {
        match self {
            Self::Verify => VERIFY_TTL_SECS,
            Self::Reset => RESET_TTL_SECS,
        }
    }

    /// The storefront page its link opens (`<SHOP_URL><path>?token=`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Verify => "/verify",
            Self::Reset => "/reset-password",
        }
    }
}

/// A token as the table keeps it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The random id the token is derived from.
    pub id: String,
    pub purpose: Purpose,
    pub user_id: UserId,
    /// Where the email goes.
    pub email: Email,
    pub expires_at: i64,
    /// Set when it is used; a used token is refused.
    #[serde(default)]
    pub used: bool,
    /// A reset token: the account's token version when it was issued. A
    /// reset since (which moves the version on) revokes it.
    #[serde(default)]
    pub token_version: u32,
}

impl TokenRecord {
    /// A new token for `user` at `now`; the record and the token.
    pub fn issue(
        secret: &Secret,
        purpose: Purpose,
        user_id: UserId,
        email: Email,
        token_version: u32,
        now: Timestamp,
    ) -> (Self, String) {
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let token = token(secret, purpose, &id);
        (
            Self {
                id,
                purpose,
                user_id,
                email,
                expires_at: now.unix() + purpose.ttl_secs(),
                used: false,
                token_version,
            },
            token,
        )
    }

    /// The token it stands for (the notifier's, to write it in the email).
    pub fn token(&self, secret: &Secret) -> String {
        token(secret, self.purpose, &self.id)
    }

    /// Whether it may be used for `purpose` at `now`: unused, unexpired,
    /// for that purpose (else `400 INVALID_TOKEN`, whichever it is).
    pub fn check(&self, purpose: Purpose, now: Timestamp) -> Result<(), Error> {
        if self.used || self.purpose != purpose || now.unix() >= self.expires_at {
            return Err(Error::InvalidToken);
        }
        Ok(())
    }
}

fn token(secret: &Secret, purpose: Purpose, id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(purpose.as_str().as_bytes());
    mac.update(b":");
    mac.update(id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// What the table keys a token by: its SHA-256, hex.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A token as a client presents it: 43 URL-safe characters (anything else
/// cannot be one of ours, and is refused like an unknown one).
#[derive(Debug, Clone)]
pub struct PresentedToken(String);

impl PresentedToken {
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Ok(Self(raw))
        } else {
            Err("is not a token this shop issued".into())
        }
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// `POST /auth/verify`'s body.
#[derive(Debug)]
pub struct Verification {
    pub token: String,
}

impl FromJson for Verification {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let token = o.required("token", |s: String| Ok(s));
        o.end();
        Some(Self { token: token? })
    }
}

/// `POST /auth/password-reset`'s body.
#[derive(Debug)]
pub struct ResetRequest {
    pub email: Email,
}

impl FromJson for ResetRequest {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let email = o.required("email", Email::parse);
        o.end();
        Some(Self { email: email? })
    }
}

/// `POST /auth/password-reset/confirm`'s body.
#[derive(Debug)]
pub struct ResetConfirmation {
    pub token: String,
    pub new_password: Password,
}

impl FromJson for ResetConfirmation {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let token = o.required("token", |s: String| Ok(s));
        let new_password = o.required("new_password", Password::parse);
        o.end();
        Some(Self {
            token: token?,
            new_password: new_password?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("account-token-secret-for-the-unit-tests-0123")
    }

    fn email() -> Email {
        Email::parse("ann@example.com".into()).expect("email")
    }

    #[test]
    fn a_token_is_derived_from_its_record_and_keyed_by_its_hash() {
        let now = Timestamp::parse("2026-12-05T10:00:00Z").expect("time");
        let (record, token) = TokenRecord::issue(&secret(), Purpose::Verify, UserId::new(), email(), 0, now);
        assert_eq!(
            record.token(&secret()),
            token,
            "the notifier derives the same token"
        );
        assert_ne!(
            record.token(&Secret::new("another-secret-another-secret-another-0123")),
            token
        );
        let presented = PresentedToken::parse(token.clone()).expect("our shape");
        assert_eq!(presented.digest(), digest(&token));
        assert_eq!(presented.digest().len(), 64);
        assert!(
            !serde_json::to_string(&record).expect("json").contains(&token),
            "the token is not stored"
        );
        // Another record, another token.
        let (other, other_token) =
            TokenRecord::issue(&secret(), Purpose::Verify, UserId::new(), email(), 0, now);
        assert_ne!((other.id, other_token), (record.id.clone(), token));
    }

    #[test]
    fn a_token_works_once_for_its_purpose_until_it_expires() {
        let now = Timestamp::parse("2026-12-05T10:00:00Z").expect("time");
        let (record, _) = TokenRecord::issue(&secret(), Purpose::Reset, UserId::new(), email(), 3, now);
        assert!(
            record
                .check(Purpose::Reset, now.plus_secs(RESET_TTL_SECS - 1))
                .is_ok()
        );
        assert!(matches!(
            record.check(Purpose::Reset, now.plus_secs(RESET_TTL_SECS)),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            record.check(Purpose::Verify, now),
            Err(Error::InvalidToken)
        ));
        let used = TokenRecord { used: true, ..record };
        assert!(matches!(
            used.check(Purpose::Reset, now),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn only_our_shape_of_token_is_looked_up() {
        assert!(PresentedToken::parse("a".repeat(43)).is_ok());
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &format!("{}#", "a".repeat(42)),
        ] {
            assert!(PresentedToken::parse(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
