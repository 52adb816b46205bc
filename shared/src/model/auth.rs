//! Who is calling: roles, principals, passwords (argon2id, PHC strings) and
//! access tokens (HS256 JWT). Pure computation: hashing runs on the blocking
//! pool, nothing here does I/O.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::foundation::secret::Secret;

/// Access tokens live one hour.
pub const TOKEN_TTL_SECS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    /// Whether the account's email is verified, as the request's check of
    /// the token read it (false until then).
    pub verified: bool,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The caller as an [`Admin`], or `403 FORBIDDEN`.
    pub fn into_admin(self) -> Result<Admin, Error> {
        if self.is_admin() {
            Ok(Admin(self))
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// A caller proven to be an admin: the use cases only admins may run take
/// one, so the check cannot be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin(Principal);

impl Admin {
    pub fn principal(&self) -> &Principal {
        &self.0
    }
}

// ---------------------------------------------------------------- passwords

/// A password as typed: 12 to 128 characters, kept exactly (no trimming),
/// never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        match raw.chars().count() {
            12..=128 => Ok(Self(raw)),
            _ => Err("must be 12 to 128 characters".into()),
        }
    }

    /// A password to check against a hash, not to set: whatever its length,
    /// a wrong one is simply wrong.
    pub fn as_typed(raw: String) -> Self {
        Self(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordDigest(String);

impl std::fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDigest(<redacted>)")
    }
}

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The hash checked when the email is unknown, so that an unknown email costs
/// the same as a wrong password. Its password is random and unrecorded.
const DUMMY_DIGEST: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$jfHLz4j1rf8PC5zmchVS8g$FPorBM71iJ36yj3czMRWw8Z9qTEQGOHRwySUFHf8bmI";

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU.
pub async fn hash_password(password: &Password) -> Result<PasswordDigest, Error> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| PasswordDigest(hash.to_string()))
            .map_err(|err| Error::internal(err.to_string()))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks `password` against `digest`, or against a dummy digest when there
/// is none, so both paths cost one argon2 verification.
pub async fn verify_password(password: &Password, digest: Option<&PasswordDigest>) -> Result<bool, Error> {
    let password = password.clone();
    let known = digest.is_some();
    let phc = digest.map_or(DUMMY_DIGEST.to_owned(), |d| d.0.clone());
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|err| Error::internal(err.to_string()))?;
        let matches = hasher()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(Error::internal)?
}

// ---------------------------------------------------------------- device tokens

/// A device token lasts 30 days from the login that issued it.
pub const DEVICE_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;

/// A client that has proven itself: OWASP's device cookie. Each successful
/// login hands out a token naming a new device, bound to the email and
/// signed; a login that presents a valid one for its email is counted
/// against that device alone, not against the email's ceiling or its
/// address, so a stranger's guesses can lock out neither the owner's
/// devices nor, spread over addresses, the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceId(String);

impl DeviceId {
    /// 32 lower-case hex digits: only ever made here, or read from a token
    /// whose signature verified.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn device_tag(secret: &Secret, email: &str, device: &str, issued_at: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    // A label of its own: no other use of the key signs this shape.
    mac.update(b"shop device token v1\n");
    mac.update(email.as_bytes());
    mac.update(b"\n");
    mac.update(device.as_bytes());
    mac.update(b"\n");
    mac.update(issued_at.to_string().as_bytes());
    mac
}

/// A new device's token for `email`: `<device>.<issued at>.<tag>`.
pub fn issue_device_token(secret: &Secret, email: &str, now: Timestamp) -> String {
    use base64::Engine;
    let device = uuid::Uuid::now_v7().simple().to_string();
    let tag = device_tag(secret, email, &device, now.unix())
        .finalize()
        .into_bytes();
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag);
    format!("{device}.{}.{tag}", now.unix())
}

/// The device a token names, if it is one of ours for `email` and not
/// older than [`DEVICE_TOKEN_TTL_SECS`]; anything else is no device (the
/// login is counted as an untrusted client's, never refused for it).
pub fn verify_device_token(secret: &Secret, token: &str, email: &str, now: Timestamp) -> Option<DeviceId> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (device, issued_at, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || device.len() != 32
        || !device
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let issued: i64 = issued_at.parse().ok()?;
    if !(0..=DEVICE_TOKEN_TTL_SECS).contains(&now.unix().checked_sub(issued)?) {
        return None;
    }
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tag)
        .ok()?;
    device_tag(secret, email, device, issued)
        .verify_slice(&tag)
        .ok()
        .map(|()| DeviceId(device.to_owned()))
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iat: i64,
    exp: i64,
    /// The user's token version when issued: a password change moves it on,
    /// revoking every token issued before (absent: 0).
    #[serde(default)]
    ver: u32,
}

/// Signs an access token for `user_id` valid for [`TOKEN_TTL_SECS`].
pub fn issue_token(
    secret: &Secret,
    user_id: &UserId,
    role: Role,
    version: u32,
    now: Timestamp,
) -> Result<String, Error> {
    let claims = Claims {
        sub: user_id.to_string(),
        role,
        iat: now.unix(),
        exp: now.unix() + TOKEN_TTL_SECS,
        ver: version,
    };
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(Error::internal)
}

/// Verifies a token: HS256 only (so `none` and every other algorithm are
/// refused), signed with `secret`, not expired.
pub fn verify_token(secret: &Secret, token: &str) -> Result<Principal, Error> {
    verify_token_versioned(secret, token).map(|(principal, _)| principal)
}

/// As [`verify_token`], with the user's token version it was issued under.
pub fn verify_token_versioned(secret: &Secret, token: &str) -> Result<(Principal, u32), Error> {
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.expose()), &validation)
        .map_err(|_| Error::Unauthenticated)?;
    let user_id = UserId::parse(&data.claims.sub).map_err(|_| Error::Unauthenticated)?;
    let principal = Principal {
        user_id,
        role: data.claims.role,
        verified: false,
    };
    Ok((principal, data.claims.ver))
}

/// A token issued under an older token version than the user's now (a
/// password change since) is revoked.
pub fn token_revoked(token_version: u32, current: u32) -> bool {
    token_version < current
}

/// Reads `Authorization: Bearer <token>`.
pub fn authenticate(secret: &Secret, authorization: Option<&str>) -> Result<Principal, Error> {
    authenticate_versioned(secret, authorization).map(|(principal, _)| principal)
}

/// As [`authenticate`], with the token version the token was issued under.
pub fn authenticate_versioned(
    secret: &Secret,
    authorization: Option<&str>,
) -> Result<(Principal, u32), Error> {
    let header = authorization.ok_or(Error::Unauthenticated)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(Error::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::Unauthenticated);
    }
    verify_token_versioned(secret, token.trim())
}

#[cfg(test)]
mod device_tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("d".repeat(32))
    }

    #[test]
    fn a_device_token_names_its_device_for_its_email_only() {
        let now = Timestamp::from_unix(1_800_000_000);
        let token = issue_device_token(&secret(), "ann@example.com", now);
        let device =
            verify_device_token(&secret(), &token, "ann@example.com", now.plus_secs(60)).expect("valid");
        assert_eq!(device.as_str().len(), 32);
        assert_eq!(token.split('.').next(), Some(device.as_str()));
        // Another email, another key, too old, from the future, altered:
        // no device.
        assert!(verify_device_token(&secret(), &token, "bob@example.com", now).is_none());
        assert!(verify_device_token(&Secret::new("o".repeat(32)), &token, "ann@example.com", now).is_none());
        let late = now.plus_secs(DEVICE_TOKEN_TTL_SECS + 1);
        assert!(verify_device_token(&secret(), &token, "ann@example.com", late).is_none());
        assert!(verify_device_token(&secret(), &token, "ann@example.com", now.plus_secs(-1)).is_none());
        let mut forged = token.clone();
        forged.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
        assert!(verify_device_token(&secret(), &forged, "ann@example.com", now).is_none());
        for junk in ["", "a.b.c", "..", &format!("{token}.x")] {
            assert!(verify_device_token(&secret(), junk, "ann@example.com", now).is_none());
        }
        // Two logins, two devices.
        let other = issue_device_token(&secret(), "ann@example.com", now);
        assert_ne!(other.split('.').next(), token.split('.').next());
    }
}

#[cfg(test)]
mod revocation_tests {
    use super::token_revoked;

    #[test]
    fn tokens_issued_before_a_password_change_are_revoked() {
        assert!(!token_revoked(0, 0), "never changed");
        assert!(token_revoked(0, 1), "issued before the change");
        assert!(!token_revoked(1, 1), "the login after it");
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn secret() -> Secret {
        Secret::new("k".repeat(32))
    }

    fn password(s: &str) -> Password {
        Password::parse(s.to_owned()).expect("valid password")
    }

    #[tokio::test]
    async fn hashes_with_owasp_argon2id_and_verifies() {
        let pw = password("correct horse battery");
        let digest = hash_password(&pw).await.expect("hash");
        assert!(
            digest.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            digest.0
        );
        assert!(verify_password(&pw, Some(&digest)).await.expect("verify"));
        assert!(
            !verify_password(&password("wrong horse battery"), Some(&digest))
                .await
                .expect("verify")
        );
        assert!(
            !format!("{digest:?}").contains("argon2"),
            "digest leaked into Debug"
        );
    }

    #[tokio::test]
    async fn the_dummy_digest_uses_the_same_parameters_and_never_matches() {
        let parsed = PasswordHash::new(DUMMY_DIGEST).expect("valid PHC string");
        let real = hash_password(&password("any password 1")).await.expect("hash");
        let real = PasswordHash::new(&real.0).expect("valid").params.to_string();
        assert_eq!(parsed.params.to_string(), real);
        assert!(
            !verify_password(&password("any password 1"), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn passwords_are_12_to_128_characters_and_never_printed() {
        assert!(Password::parse("x".repeat(11)).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        let pw = Password::parse("  spaces count ".into()).expect("valid");
        assert_eq!(pw.expose(), "  spaces count ");
        assert!(!format!("{pw:?}").contains("spaces"));
    }

    #[test]
    fn tokens_round_trip() {
        let id = UserId::new();
        let token = issue_token(&secret(), &id, Role::Admin, 0, Timestamp::now()).expect("sign");
        let principal = verify_token(&secret(), &token).expect("valid");
        assert_eq!(
            principal,
            Principal {
                user_id: id,
                role: Role::Admin,
                verified: false,
            }
        );
        let header = format!("Bearer {token}");
        assert!(authenticate(&secret(), Some(&header)).is_ok());
        assert!(authenticate(&secret(), Some(&format!("Basic {token}"))).is_err());
        assert!(authenticate(&secret(), None).is_err());
    }

    #[test]
    fn refuses_expired_foreign_tampered_and_unsigned_tokens() {
        let id = UserId::new();
        let old = issue_token(
            &secret(),
            &id,
            Role::Customer,
            0,
            Timestamp::now().plus_secs(-TOKEN_TTL_SECS - 1),
        )
        .expect("sign");
        assert!(verify_token(&secret(), &old).is_err(), "expired");

        let other = issue_token(
            &Secret::new("o".repeat(32)),
            &id,
            Role::Customer,
            0,
            Timestamp::now(),
        )
        .expect("sign");
        assert!(verify_token(&secret(), &other).is_err(), "other key");

        let token = issue_token(&secret(), &id, Role::Customer, 0, Timestamp::now()).expect("sign");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("utf8");
        parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("customer", "admin"));
        assert!(
            verify_token(&secret(), &parts.join(".")).is_err(),
            "tampered claims"
        );

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!(
            "{none_header}.{}.",
            URL_SAFE_NO_PAD.encode(claims.replace("customer", "admin"))
        );
        assert!(verify_token(&secret(), &unsigned).is_err(), "alg none");

        let hs512 = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS512),
            &serde_json::from_str::<serde_json::Value>(&claims).expect("json"),
            &EncodingKey::from_secret(secret().expose()),
        )
        .expect("sign");
        assert!(verify_token(&secret(), &hs512).is_err(), "other algorithm");
    }
}
