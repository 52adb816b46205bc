//! Users: who they are, what they may change, and the lockout rule.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
pub use crate::foundation::ids::UserId;
use crate::foundation::input::{Errors, FromJson, Object, Update, bounded_text, report};
use crate::foundation::newtype::string_newtype;
use crate::model::addresses;
use crate::model::auth::{DeviceId, Password, PasswordDigest, Role};

/// The default of [`LoginLimits::per_client`]: after this many logins for
/// one email from one client address within [`LOCKOUT_WINDOW_SECS`]
/// without a success, that address is refused for that email until the
/// window has passed: a stranger guessing from elsewhere cannot lock the
/// owner out.
pub const MAX_LOGIN_FAILURES: u32 = 5;
/// The default of [`LoginLimits::per_email`]: the ceiling for one email
/// from every untrusted client together in a window (guessing spread over
/// many addresses). Successes are taken back off it.
pub const MAX_LOGIN_ATTEMPTS_PER_EMAIL: u32 = 100;
pub const LOCKOUT_WINDOW_SECS: i64 = 15 * 60;

/// The limits on logins and sign-ups, each over a window of
/// [`LOCKOUT_WINDOW_SECS`]; settings, whose production defaults are the
/// template's and local ones `local.env`'s (README "Settings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// `LOGIN_FAILURES_PER_CLIENT` (default 5): logins for one email from
    /// one address without a success.
    pub per_client: u32,
    /// `LOGIN_FAILURES_PER_ADDRESS` (default 30): logins from one address,
    /// whatever the email, without a success; against one address trying a
    /// few passwords on every email (credential stuffing, spraying).
    pub per_address: u32,
    /// `LOGIN_FAILURES_PER_EMAIL` (default 100): logins for one email from
    /// every untrusted client together.
    pub per_email: u32,
    /// `LOGIN_FAILURES_PER_DEVICE` (default 10): logins presenting one
    /// device token without a success. A proven device is counted here
    /// only, so no stranger can lock it out.
    pub per_device: u32,
    /// `REGISTRATIONS_PER_ADDRESS` (default 10): sign-ups from one address.
    pub registrations_per_address: u32,
    /// `PASSWORD_RESETS_PER_EMAIL` (default 3) and
    /// `PASSWORD_RESETS_PER_ADDRESS` (default 20): reset requests for one
    /// email (known or not, so a `429` reveals nothing) and from one
    /// address.
    pub resets_per_email: u32,
    pub resets_per_address: u32,
}

/// Who a login is counted against: a device that proved itself before
/// (a valid device token for the email), or an untrusted client at an
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginClient<'a> {
    Device(&'a DeviceId),
    Address(&'a ClientAddress),
}

/// Where a request came from (API Gateway's `sourceIp`), for lockouts.
/// An address that is absent or unreadable counts as one shared unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(Option<std::net::IpAddr>);

impl ClientAddress {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(raw.and_then(|raw| raw.trim().parse().ok()))
    }

    pub fn unknown() -> Self {
        Self(None)
    }
}

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

// ---------------------------------------------------------------- values

/// An email address, trimmed (Unicode whitespace) and lower-cased: at most
/// 254 characters as sent; a local part of 1 to 64 ASCII letters, digits
/// and ``.!$%&'*+/=?^_`{|}~-`` (RFC 5322's atext and dots, without `#`);
/// `@`; a domain of two or more dot-separated labels of 1 to 63 ASCII
/// letters, digits and `-`, neither first nor last (an internationalised
/// domain in its `xn--` form).
///
/// What it leaves out is deliberate: `#` separates the parts of the
/// store's keys, and an email is one of them; quoted local parts, address
/// literals and non-ASCII addresses are refused rather than half-handled.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;
    /// The characters of a local part besides ASCII letters and digits.
    pub const LOCAL_SPECIALS: &'static str = ".!$%&'*+/=?^_`{|}~-";

    pub fn parse(raw: String) -> Result<Self, String> {
        // Counted as sent, as openapi.yaml's `maxLength` counts.
        if raw.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let email = raw.trim();
        let invalid = || "is not an email address".to_owned();
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let local_ok = (1..=64).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || Self::LOCAL_SPECIALS.as_bytes().contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if local_ok && domain_ok {
            Ok(Self(email.to_ascii_lowercase()))
        } else {
            Err(invalid())
        }
    }
}

string_newtype!(Email);

/// A person's display name: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: String) -> Result<Self, String> {
        bounded_text(raw, 1, 100).map(Self)
    }
}

string_newtype!(DisplayName);

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    /// Two letters (any case, surrounding spaces ignored): the shape, as
    /// stored data is read back.
    pub fn parse(raw: String) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err("must be an ISO 3166-1 alpha-2 country code".into())
        }
    }

    /// As every input takes it (and answers hold it): two upper-case
    /// letters, nothing around, of a country the address data knows.
    pub fn strict(raw: String) -> Result<Self, String> {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Self::known(raw)
        } else {
            Err("must be an ISO 3166-1 alpha-2 code, upper case".into())
        }
    }

    /// A country the address data knows (any case).
    pub fn known(raw: String) -> Result<Self, String> {
        let code = Self::parse(raw)?;
        if addresses::rules(&code.0).is_some() {
            Ok(code)
        } else {
            Err(format!(
                "{} is not an ISO 3166-1 alpha-2 code of a country the shop knows",
                code.0
            ))
        }
    }
}

string_newtype!(CountryCode);

/// A region: an ISO 3166-2 subdivision code (`US-CA`, `JP-13`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(raw: String) -> Result<Self, String> {
        let shaped = raw.len() >= 4
            && raw.len() <= 6
            && raw.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
            && raw.as_bytes()[2] == b'-'
            && raw.as_bytes()[3..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if shaped {
            Ok(Self(raw))
        } else {
            Err("must be an ISO 3166-2 code such as US-CA".into())
        }
    }
}

string_newtype!(RegionCode);

/// A postal address. Built only by parsing, so every field is within
/// bounds and fits its country's rules ([`addresses::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    name: String,
    line1: String,
    line2: Option<String>,
    /// Required where the country's rules say (most countries).
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    region: Option<RegionCode>,
    country: CountryCode,
}

impl Address {
    /// The country it is in: what picks the market.
    pub fn country(&self) -> &CountryCode {
        &self.country
    }

    /// Its region (ISO 3166-2), where it names one.
    pub fn region(&self) -> Option<&RegionCode> {
        self.region.as_ref()
    }

    /// Its lines as written on an envelope (postal code before the city,
    /// the country's code last).
    pub fn lines(&self) -> Vec<String> {
        let place = [self.postal_code.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        [
            Some(self.name.clone()),
            Some(self.line1.clone()),
            self.line2.clone(),
            Some(place),
        ]
        .into_iter()
        .flatten()
        .filter(|line| !line.is_empty())
        .chain([self.country.as_str().to_owned()])
        .collect()
    }
}

impl FromJson for Address {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.required("name", |s| bounded_text(s, 1, 100));
        let line1 = o.required("line1", |s| bounded_text(s, 1, 200));
        let line2 = o.optional("line2", |s| bounded_text(s, 0, 200));
        let city = o.optional("city", |s| bounded_text(s, 1, 100));
        let postal_code = o.optional("postal_code", |s| bounded_text(s, 1, 20));
        let region = o.optional("region", RegionCode::parse);
        let country = o.required("country", CountryCode::strict);
        o.end();
        let (city, postal_code, region, country) = (city?, postal_code?, region?, country?);
        let given = addresses::Given {
            city: city.as_deref(),
            postal_code: postal_code.as_deref(),
            region: region.as_ref().map(RegionCode::as_str),
        };
        let problems = addresses::check(country.as_str(), given);
        for (field, message) in &problems {
            report(errors, at, field, message.as_str());
        }
        if !problems.is_empty() {
            return None;
        }
        Some(Self {
            name: name?,
            line1: line1?,
            line2: line2?.filter(|l| !l.is_empty()),
            city,
            postal_code: postal_code.map(|code| code.trim().to_owned()),
            region,
            country,
        })
    }
}

/// A user as the API shows it: no password material, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: DisplayName,
    pub role: Role,
    pub address: Option<Address>,
    /// Whether its owner proved the email theirs (`POST /auth/verify`).
    /// Accounts from before verification existed read as verified.
    #[serde(default = "verified_before_verification")]
    pub verified: bool,
    pub created_at: Timestamp,
}

fn verified_before_verification() -> bool {
    true
}

// ---------------------------------------------------------------- inputs

#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub name: DisplayName,
}

impl FromJson for Registration {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let email = o.required("email", Email::parse);
        let password = o.required("password", Password::parse);
        let name = o.required("name", DisplayName::parse);
        o.end();
        Some(Self {
            email: email?,
            password: password?,
            name: name?,
        })
    }
}

#[derive(Debug)]
pub struct Credentials {
    pub email: Email,
    pub password: Password,
    /// The device token an earlier login of this client handed out, if it
    /// kept one (any string: one that does not verify is no device).
    pub device_token: Option<String>,
}

impl FromJson for Credentials {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let email = o.required("email", Email::parse);
        let password = o.required("password", Password::parse);
        let device_token = o.optional("device_token", |token: String| {
            if token.len() <= 200 && token.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(token)
            } else {
                Err("must be at most 200 printable ASCII characters".to_owned())
            }
        });
        o.end();
        Some(Self {
            email: email?,
            password: password?,
            device_token: device_token?,
        })
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub name: Update<DisplayName>,
    pub address: Update<Address>,
}

impl FromJson for ProfilePatch {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.patch("name", DisplayName::parse);
        let address = o.patch_nested("address");
        o.end();
        Some(Self {
            name: name?,
            address: address?,
        })
    }
}

#[derive(Debug)]
pub struct PasswordChange {
    pub current_password: Password,
    pub new_password: Password,
}

impl FromJson for PasswordChange {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        // The current password is checked against the hash, not re-validated:
        // a wrong one is INVALID_CREDENTIALS whatever its length.
        let current_password = o.required("current_password", |s: String| Ok(Password::as_typed(s)));
        let new_password = o.required("new_password", Password::parse);
        o.end();
        Some(Self {
            current_password: current_password?,
            new_password: new_password?,
        })
    }
}

/// A user with the hash of their password: never leaves the use cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    #[serde(flatten)]
    pub user: User,
    #[serde(rename = "password_hash")]
    pub digest: PasswordDigest,
    pub updated_at: Timestamp,
    /// Moved on by every password change, revoking older tokens.
    #[serde(default)]
    pub token_version: u32,
    /// The language its owner's client asked for at sign-up (a BCP 47
    /// tag), for its emails; not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::error::Error;
    use crate::foundation::input::parse_document;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ".into()).expect("valid").as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@.com",
            // `#` separates key parts: an email with one could be another
            // key (`LOGIN#<email>#<address>` is also an email's window).
            "victim@example.com#203.0.113.7",
            "a#b@example.com",
            "\"quoted\"@example.com",
            "ann@[192.0.2.1]",
            "ann@-example.com",
            "ann@example-.com",
            "jörg@example.com",
            "ann@exämple.com",
            "ann\u{0}@example.com",
        ] {
            assert!(Email::parse(bad.into()).is_err(), "{bad:?} accepted");
        }
        for good in [
            "o'brien+tag@mail.example.co.uk",
            "a.b-c_d@xn--exmple-cua.com",
            "x@1.2",
            "!$%&'*+/=?^_`{|}~-@example.com",
        ] {
            assert!(Email::parse(good.into()).is_ok(), "{good:?} refused");
        }
        let label = format!("ann@{}.com", "a".repeat(64));
        assert!(Email::parse(label).is_err(), "a label over 63");
        let local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(local).is_err(), "a local part over 64");
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(long).is_err());
    }

    #[test]
    fn country_codes_are_two_letters_and_inputs_name_known_countries() {
        assert!(CountryCode::parse("de".into()).is_ok());
        for bad in ["DEU", "D", "1A", ""] {
            assert!(CountryCode::parse(bad.into()).is_err(), "{bad:?} accepted");
        }
        assert!(CountryCode::known(" jp ".into()).is_ok());
        assert!(CountryCode::strict(" jp ".into()).is_err());
        assert!(CountryCode::strict("JP".into()).is_ok());
        assert!(CountryCode::parse("QQ".into()).is_ok(), "stored data reads back");
        assert!(CountryCode::known("QQ".into()).is_err());
        for bad in ["US-", "us-CA", "USCA", "US-CALI", "U1-CA"] {
            assert!(RegionCode::parse(bad.into()).is_err(), "{bad:?} accepted");
        }
        assert!(RegionCode::parse("JP-13".into()).is_ok());
    }

    #[test]
    fn registration_names_each_bad_field() {
        let Err(Error::Validation(errors)) = parse_document::<Registration>(json!({
            "email": "nope", "password": "short", "name": "", "role": "admin"
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name", "role"]);
    }

    #[test]
    fn profile_patch_reads_nested_address_errors() {
        let Err(Error::Validation(errors)) = parse_document::<ProfilePatch>(json!({
            "address": {"name": "A", "line1": "1 Road", "city": "X", "postal_code": "1", "country": "Germany"}
        })) else {
            panic!("expected validation errors")
        };
        assert_eq!(errors[0].field, "address.country");
        // By the country's rules, each error on its field.
        let Err(Error::Validation(errors)) = parse_document::<ProfilePatch>(json!({
            "address": {"name": "A", "line1": "1 Road", "postal_code": "90001", "region": "US-NY", "country": "US"}
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["address.city", "address.postal_code"]);
        let read: ProfilePatch = parse_document(json!({
            "address": {"name": "A", "line1": "1 Road", "city": "LA", "postal_code": " 90001 ", "region": "US-CA", "country": "US"}
        }))
        .expect("valid");
        let Update::Set(address) = read.address else {
            panic!("an address")
        };
        assert_eq!(
            (
                address.country().as_str(),
                address.region().map(RegionCode::as_str)
            ),
            ("US", Some("US-CA"))
        );
        assert_eq!(address.postal_code.as_deref(), Some("90001"));
        let clear: ProfilePatch = parse_document(json!({"address": null})).expect("valid");
        assert_eq!(clear.address, Update::Clear);
        assert!(parse_document::<ProfilePatch>(json!({"name": null})).is_err());
    }

    #[test]
    fn users_serialise_without_password_material() {
        let user = User {
            id: UserId::new(),
            email: Email::parse("a@b.co".into()).expect("valid"),
            name: DisplayName::parse("Ann".into()).expect("valid"),
            role: Role::Customer,
            address: None,
            verified: false,
            created_at: Timestamp::from_unix(0),
        };
        let value = serde_json::to_value(&user).expect("json");
        let keys: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
        assert_eq!(
            keys,
            ["address", "created_at", "email", "id", "name", "role", "verified"]
        );
    }
}
