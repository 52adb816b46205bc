//! What the payment provider can charge: Stripe refuses an amount below its
//! minimum for the currency (its fees would exceed it) or above eight
//! digits of minor units. An order outside them could never be paid, and
//! would hold its stock until it expired; it is refused when placed, before
//! anything is reserved (`409 AMOUNT_OUT_OF_RANGE`).

use crate::foundation::money::{Amount, Currency, Money};

/// The smallest and largest amount, in minor units, one charge may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeLimits {
    pub min: i64,
    pub max: i64,
}

/// Stripe's maximum: "up to eight digits" of the minor unit.
pub const MAX_CHARGE: i64 = 99_999_999;

/// Stripe's documented minimum charge amounts (docs.stripe.com/currencies,
/// "Minimum and maximum charge amounts"), in minor units. A currency not
/// listed takes 50 minor units, Stripe's minimum for most currencies.
const MINIMUMS: [(&str, i64); 23] = [
    ("AED", 200),
    ("AUD", 50),
    ("BRL", 50),
    ("CAD", 50),
    ("CHF", 50),
    ("CZK", 1_500),
    ("DKK", 250),
    ("EUR", 50),
    ("GBP", 30),
    ("HKD", 400),
    ("HUF", 17_500),
    ("INR", 50),
    ("JPY", 50),
    ("MXN", 1_000),
    ("MYR", 200),
    ("NOK", 300),
    ("NZD", 50),
    ("PLN", 200),
    ("RON", 200),
    ("SEK", 300),
    ("SGD", 50),
    ("THB", 1_000),
    ("USD", 50),
];

/// What one charge in `currency` may be.
pub fn limits(currency: &Currency) -> ChargeLimits {
    let min = MINIMUMS
        .iter()
        .find(|(code, _)| *code == currency.as_str())
        .map_or(50, |(_, min)| *min);
    ChargeLimits { min, max: MAX_CHARGE }
}

/// Whether `amount` in `currency` can be charged; `Err` holds the limits.
pub fn check(amount: Money, currency: &Currency) -> Result<(), ChargeLimits> {
    let limits = limits(currency);
    if (limits.min..=limits.max).contains(&amount.minor()) {
        Ok(())
    } else {
        Err(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::money::testing::currency;

    fn money(minor: i64) -> Money {
        Money::new(minor).expect("valid")
    }

    #[test]
    fn amounts_inside_the_providers_limits_are_chargeable() {
        let usd = currency("USD");
        assert_eq!(
            check(money(49), &usd),
            Err(ChargeLimits {
                min: 50,
                max: MAX_CHARGE
            })
        );
        assert_eq!(check(money(50), &usd), Ok(()));
        assert_eq!(check(money(99_999_999), &usd), Ok(()));
        assert!(check(money(100_000_000), &usd).is_err(), "nine digits");
        assert_eq!(limits(&currency("GBP")).min, 30);
        assert_eq!(limits(&currency("JPY")).min, 50, "¥50: JPY has no minor unit");
        assert_eq!(limits(&currency("HUF")).min, 17_500);
        assert_eq!(
            limits(&currency("KES")).min,
            50,
            "not in the table: 0.50 of a unit"
        );
        assert!(
            MINIMUMS.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicates"
        );
    }
}

/// Stripe's zero-decimal currencies (docs.stripe.com/currencies,
/// "Zero-decimal currencies"): amounts in whole units.
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
    "XPF",
];

/// Stripe's three-decimal currencies: amounts in thousandths, ending in 0.
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// Why an amount has no count in the provider's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error("the payment provider does not take {0}")]
    Unsupported(Currency),
    #[error("{0} {1} is not a whole number of the provider's units")]
    NotWhole(i64, Currency),
}

/// How many of the provider's units an amount is. Stripe counts most
/// currencies in their ISO minor unit, and: its zero-decimal currencies in
/// whole units (MGA, two-decimal by ISO, in ariary), ISK in hundredths
/// although ISO gives it none (×100), and the three-decimal ones in
/// thousandths ending in 0. It takes no other three-decimal currency
/// (IQD, LYD).
pub fn provider_units(amount: Amount) -> Result<i64, UnitsError> {
    let currency = amount.currency();
    let minor = amount.minor();
    let (per_unit, units_per_minor) = scale(currency)?;
    if minor % per_unit != 0 {
        return Err(UnitsError::NotWhole(minor, currency));
    }
    (minor / per_unit)
        .checked_mul(units_per_minor)
        .ok_or(UnitsError::NotWhole(minor, currency))
}

/// The amount `units` of the provider's units are, in `currency`.
pub fn from_provider_units(units: i64, currency: Currency) -> Result<Amount, UnitsError> {
    let (per_unit, units_per_minor) = scale(currency)?;
    if units % units_per_minor != 0 {
        return Err(UnitsError::NotWhole(units, currency));
    }
    let minor = (units / units_per_minor)
        .checked_mul(per_unit)
        .ok_or(UnitsError::NotWhole(units, currency))?;
    Amount::new(minor, currency).map_err(|_| UnitsError::NotWhole(units, currency))
}

/// Whether the payment provider charges `currency` at all (Stripe takes
/// every currency in use but IQD and LYD).
pub fn chargeable(currency: Currency) -> bool {
    scale(currency).is_ok()
}

/// (minor units per provider unit, provider units per minor unit).
fn scale(currency: Currency) -> Result<(i64, i64), UnitsError> {
    let code = currency.as_str();
    match currency.exponent() {
        _ if ZERO_DECIMAL.contains(&code) => Ok((currency.minor_per_major(), 1)),
        0 if code == "ISK" => Ok((1, 100)),
        3 if THREE_DECIMAL.contains(&code) => Ok((1, 1)),
        2 => Ok((1, 1)),
        _ => Err(UnitsError::Unsupported(currency)),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;
    use crate::foundation::money::testing::amount;

    #[test]
    fn the_providers_units_by_currency() {
        assert_eq!(provider_units(amount(1999, "USD")), Ok(1999));
        assert_eq!(
            provider_units(amount(500, "JPY")),
            Ok(500),
            "¥500 is 500, not 50,000"
        );
        assert_eq!(provider_units(amount(5120, "KWD")), Ok(5120), "5.120 KWD in fils");
        assert_eq!(provider_units(amount(1500, "ISK")), Ok(150_000), "ISK ×100");
        assert_eq!(
            provider_units(amount(12_300, "MGA")),
            Ok(123),
            "MGA in whole ariary"
        );
        assert_eq!(
            Amount::new(12_345, Currency::parse("MGA".into()).expect("valid")),
            Err(crate::foundation::money::MoneyError::NotAStep(
                12_345,
                Currency::parse("MGA".into()).expect("valid"),
                100
            )),
            "no MGA amount has a fraction of an ariary"
        );
        assert!(
            provider_units(amount(1000, "IQD")).is_err(),
            "Stripe takes no IQD"
        );
        assert!(!chargeable(Currency::parse("LYD".into()).expect("valid")));
        assert!(chargeable(Currency::parse("KWD".into()).expect("valid")));
        assert!(from_provider_units(150_050, Currency::parse("ISK".into()).expect("valid")).is_err());
    }

    /// Over every active currency the provider takes: an amount goes to the
    /// provider's units and back unchanged, and a count of units that
    /// names no whole amount is refused rather than rounded.
    #[test]
    fn provider_units_round_trip_over_every_active_currency() {
        let mut rng = fastrand::Rng::with_seed(2517);
        let mut taken = 0;
        for currency in Currency::all() {
            let Ok((per_unit, _)) = scale(currency) else {
                assert!(
                    currency.exponent() == 3 || currency.exponent() > 3,
                    "{currency} refused"
                );
                continue;
            };
            taken += 1;
            for _ in 0..500 {
                let minor =
                    rng.i64(0..100_000_000) / (per_unit * currency.step()) * per_unit * currency.step();
                let original = Amount::new(minor, currency).expect("valid");
                let units = provider_units(original).expect("representable");
                assert_eq!(from_provider_units(units, currency), Ok(original), "{original}");
            }
        }
        assert!(taken > 140, "{taken} currencies");
    }
}
