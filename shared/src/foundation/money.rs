//! Money: an integer count of a currency's minor unit, by ISO 4217's
//! exponent (JPY none, USD two, KWD three). No floating point: rates and
//! exact values are `rust_decimal::Decimal`, rounded half up once, to the
//! currency's smallest amount.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An active ISO 4217 currency (`USD`): one a shop can sell in, so not a
/// fund, a precious metal or another special unit, nor one superseded
/// (HRK by EUR). Its exponent comes from the `iso_currency` crate's ISO
/// data, never from a list of our own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

/// The three-decimal currencies whose amounts card networks take only in
/// multiples of 10 minor units (openapi.yaml, "Money"): every amount the
/// shop computes in them is rounded to a multiple of 10.
const TENS_ONLY: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// The currency with minor units that card networks take only whole
/// (Stripe's zero-decimal list holds it): every amount in it is a multiple
/// of 100 minor units.
const WHOLE_ONLY: &str = "MGA";

impl Currency {
    /// A code (any case, surrounding spaces ignored) of an active currency.
    pub fn parse(raw: String) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&code)
            .and_then(Self::sellable)
            .ok_or_else(|| "must be an ISO 4217 currency code in use".into())
    }

    /// A code exactly as answered (three upper-case letters, nothing
    /// around) of an active currency: what a map of currencies takes as
    /// keys.
    pub fn strict(code: &str) -> Result<Self, String> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Self::parse(code.to_owned()).map_err(|err| format!("{code}: {err}"))
        } else {
            Err(format!("{code:?} is not an ISO 4217 code in upper case"))
        }
    }

    fn sellable(currency: iso_currency::Currency) -> Option<Self> {
        let active = !currency.is_fund() && !currency.is_special() && currency.is_superseded().is_none();
        (active && currency.exponent().is_some()).then_some(Self(currency))
    }

    /// Every active currency.
    pub fn all() -> impl Iterator<Item = Self> {
        use iso_currency::IntoEnumIterator;
        iso_currency::Currency::iter().filter_map(Self::sellable)
    }

    pub fn as_str(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (ISO 4217's exponent).
    pub fn exponent(self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }

    /// The smallest amount, in minor units, as card networks charge it:
    /// 10 in the five three-decimal currencies they take in tens, 100 in
    /// MGA (two decimals by ISO, charged in whole ariary), 1 elsewhere.
    pub fn step(self) -> i64 {
        match self.as_str() {
            code if TENS_ONLY.contains(&code) => 10,
            WHOLE_ONLY => 100,
            _ => 1,
        }
    }

    /// Minor units in one major unit (100 for USD, 1 for JPY).
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

/// Alphabetical by code, so maps of currencies read in a stable order.
impl Ord for Currency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(raw)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A count of minor units (cents), never negative, as stored and answered
/// beside its `currency`. Arithmetic across currencies goes through
/// [`Amount`].
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

    /// This count as an amount of `currency` (a whole number of its
    /// smallest amount).
    pub fn of(self, currency: Currency) -> Result<Amount, MoneyError> {
        Amount::new(self.0, currency)
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

/// Why arithmetic on amounts was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0} and {1} cannot be added: different currencies")]
    CurrencyMismatch(Currency, Currency),
    #[error("the amount is out of range")]
    Overflow,
    #[error("{0} minor units of {1} is not a whole number of its smallest amount ({2})")]
    NotAStep(i64, Currency, i64),
}

/// An amount of one currency. Adding amounts of two currencies is an
/// error, never a silent sum: the compiler cannot see a currency that
/// comes from data, so the check is at run time, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    money: Money,
    currency: Currency,
}

impl Amount {
    /// `minor` units of `currency`: not negative, and a whole number of its
    /// smallest amount (a multiple of 10 in KWD).
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        let money = Money::new(minor).map_err(|_| MoneyError::Overflow)?;
        if minor % currency.step() != 0 {
            return Err(MoneyError::NotAStep(minor, currency, currency.step()));
        }
        Ok(Self { money, currency })
    }

    pub fn zero(currency: Currency) -> Self {
        Self {
            money: Money::ZERO,
            currency,
        }
    }

    pub fn money(self) -> Money {
        self.money
    }

    pub fn minor(self) -> i64 {
        self.money.minor()
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The sum, in the one currency both are in.
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let money = self.money.checked_add(other.money).ok_or(MoneyError::Overflow)?;
        Ok(Self { money, ..self })
    }

    /// `self × quantity`.
    pub fn times(self, quantity: u32) -> Result<Self, MoneyError> {
        let money = self.money.times(quantity).ok_or(MoneyError::Overflow)?;
        Ok(Self { money, ..self })
    }

    /// The amount in major units, exactly (`19.99`).
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor(), self.currency.exponent())
    }

    /// An exact value in major units, rounded half up once to the
    /// currency's smallest amount (0.01 USD, 1 JPY, 0.010 KWD): 15.3562 KWD
    /// is 15.360, 2.345 USD is 2.35. Negative values are refused.
    pub fn round_half_up(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let step = Decimal::from(currency.step());
        let in_steps = (value * Decimal::from(currency.minor_per_major()) / step)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        let minor = (in_steps * step).to_i64().ok_or(MoneyError::Overflow)?;
        if minor < 0 {
            return Err(MoneyError::Overflow);
        }
        Self::new(minor, currency)
    }

    /// This amount converted at `rate` (units of `to` per unit of this
    /// currency), rounded half up once to `to`'s smallest amount.
    pub fn convert(self, rate: Decimal, to: Currency) -> Result<Self, MoneyError> {
        let value = self.to_decimal().checked_mul(rate).ok_or(MoneyError::Overflow)?;
        Self::round_half_up(value, to)
    }
}

impl fmt::Display for Amount {
    /// `19.99 EUR`, `500 JPY`, `5.120 KWD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

/// Test helpers: a currency and an amount by code.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Amount, Currency};

    pub fn currency(code: &str) -> Currency {
        Currency::parse(code.into()).expect("a currency in use")
    }

    pub fn amount(minor: i64, code: &str) -> Amount {
        Amount::new(minor, currency(code)).expect("a whole number of steps")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{amount, currency};
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    #[test]
    fn currencies_are_active_iso_codes_with_their_exponents() {
        assert_eq!(currency("usd").as_str(), "USD");
        assert_eq!(currency(" eur ").exponent(), 2);
        assert_eq!(currency("JPY").exponent(), 0);
        assert_eq!(currency("KRW").exponent(), 0);
        assert_eq!(currency("KWD").exponent(), 3);
        for bad in ["US", "USDT", "U$D", "", "XYZ", "XAU", "BOV", "HRK"] {
            assert!(Currency::parse(bad.into()).is_err(), "{bad:?}");
        }
        let all: Vec<Currency> = Currency::all().collect();
        assert!(all.len() > 140, "{} active currencies", all.len());
        for code in ["USD", "EUR", "JPY", "KWD", "BHD", "ISK", "CLP"] {
            assert!(all.contains(&currency(code)), "{code}");
        }
        let tens: Vec<&str> = all
            .iter()
            .filter(|c| c.step() == 10)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(tens, ["BHD", "JOD", "KWD", "OMR", "TND"]);
        assert_eq!(currency("MGA").step(), 100, "whole ariary");
        assert_eq!(serde_json::to_string(&currency("jpy")).expect("json"), "\"JPY\"");
    }

    #[test]
    fn money_is_non_negative_and_checked() {
        assert!(Money::new(-1).is_err());
        assert_eq!(Money::new(250).expect("valid").times(3), Some(Money(750)));
        assert_eq!(Money(i64::MAX).times(2), None);
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
    }

    #[test]
    fn amounts_of_two_currencies_do_not_add() {
        assert_eq!(
            amount(1999, "EUR").checked_add(amount(500, "JPY")),
            Err(MoneyError::CurrencyMismatch(currency("EUR"), currency("JPY")))
        );
        assert_eq!(
            amount(1999, "EUR").checked_add(amount(1, "EUR")),
            Ok(amount(2000, "EUR"))
        );
        assert_eq!(amount(1999, "EUR").times(3), Ok(amount(5997, "EUR")));
        assert!(
            Amount::new(5125, currency("KWD")).is_err(),
            "not a multiple of 10"
        );
        assert_eq!(amount(5120, "KWD").to_string(), "5.120 KWD");
        assert_eq!(amount(500, "JPY").to_string(), "500 JPY");
    }

    #[test]
    fn rounding_is_half_up_to_the_smallest_amount() {
        let cases = [
            ("2.345", "USD", 235),
            ("2.344", "USD", 234),
            ("0.005", "USD", 1),
            ("79.5", "JPY", 80),
            ("79.49", "JPY", 79),
            ("15.3562", "KWD", 15_360),
            ("15.355", "KWD", 15_360),
            ("15.3549", "KWD", 15_350),
            ("0", "EUR", 0),
        ];
        for (value, code, minor) in cases {
            assert_eq!(
                Amount::round_half_up(dec(value), currency(code)).map(Amount::minor),
                Ok(minor),
                "{value} {code}"
            );
        }
        assert!(Amount::round_half_up(dec("-0.01"), currency("USD")).is_err());
    }

    #[test]
    fn conversion_multiplies_exactly_and_rounds_once() {
        // ¥80 is 80 yen, not 8,000: the exponents are the currencies' own.
        assert_eq!(
            amount(80, "JPY").convert(dec("0.0067"), currency("USD")),
            Ok(amount(54, "USD"))
        );
        assert_eq!(
            amount(1999, "USD").convert(dec("150.25"), currency("JPY")),
            Ok(amount(3003, "JPY"))
        );
        // 10.00 USD at 0.30795 KWD is 3.0795, rounded to tens of fils: 3.080.
        assert_eq!(
            amount(1000, "USD").convert(dec("0.30795"), currency("KWD")),
            Ok(amount(3080, "KWD"))
        );
    }

    /// The rules against an independent integer computation, over every
    /// active currency pair the random walk meets: a conversion is the
    /// exact product rounded half up to the target's smallest amount, so
    /// it is a whole number of steps within half a step of the exact value.
    #[test]
    fn conversions_and_rounding_hold_over_every_active_currency() {
        let all: Vec<Currency> = Currency::all().collect();
        let mut rng = fastrand::Rng::with_seed(25);
        for _ in 0..20_000 {
            let from = all[rng.usize(..all.len())];
            let to = all[rng.usize(..all.len())];
            let minor = rng.i64(0..1_000_000_000) / from.step() * from.step();
            // A rate with 1 to 10 fractional digits, 0.0000000001 to 100,000.
            let scale = rng.u32(1..=10);
            let rate = Decimal::new(rng.i64(1..=100_000 * 10_i64.pow(scale)), scale);
            let source = Amount::new(minor, from).expect("a whole number of steps");
            let converted = source.convert(rate, to).expect("in range");
            assert_eq!(converted.currency(), to);
            assert_eq!(converted.minor() % to.step(), 0, "{source} → {converted}");
            // exact = minor × mantissa × 10^(e_to) / (10^scale × 10^(e_from)), in i128.
            let numerator = i128::from(minor) * rate.mantissa() * 10_i128.pow(to.exponent());
            let denominator = 10_i128.pow(scale + from.exponent());
            let step = i128::from(to.step());
            // Half up on steps: floor((2·n + step·d) / (2·step·d)) · step.
            let expected = (2 * numerator + step * denominator) / (2 * step * denominator) * step;
            assert_eq!(
                i128::from(converted.minor()),
                expected,
                "{source} at {rate} → {to}"
            );
            // Same currency at rate 1 changes nothing.
            assert_eq!(source.convert(Decimal::ONE, from), Ok(source));
        }
    }
}
