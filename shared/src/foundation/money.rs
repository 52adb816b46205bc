//! Money: an integer count of the currency's minor unit. No floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::foundation::newtype::string_newtype;

/// An ISO 4217 code, upper case (`USD`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: String) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err("must be an ISO 4217 currency code".into())
        }
    }
}

string_newtype!(Currency);

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount in minor units (cents). Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

impl Money {
    pub const ZERO: Self = Self(0);

    pub fn new(minor: i64) -> Result<Self, String> {
        if minor >= 0 {
            Ok(Self(minor))
        } else {
            Err("must not be negative".into())
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `self × quantity`, or `None` on overflow.
    pub fn times(self, quantity: u32) -> Option<Self> {
        self.0.checked_mul(i64::from(quantity)).map(Self)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

impl TryFrom<i64> for Money {
    type Error = String;
    fn try_from(minor: i64) -> Result<Self, String> {
        Self::new(minor)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> Self {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_letters_upper_case() {
        assert_eq!(Currency::parse("usd".into()).expect("valid").as_str(), "USD");
        for bad in ["US", "USDT", "U$D", ""] {
            assert!(Currency::parse(bad.into()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_is_non_negative_and_checked() {
        assert!(Money::new(-1).is_err());
        assert_eq!(Money::new(250).expect("valid").times(3), Some(Money(750)));
        assert_eq!(Money(i64::MAX).times(2), None);
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
    }
}
