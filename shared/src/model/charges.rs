//! What the payment provider can charge: Stripe refuses an amount below its
//! minimum for the currency (its fees would exceed it) or above eight
//! digits of minor units. An order outside them could never be paid, and
//! would hold its stock until it expired; it is refused when placed, before
//! anything is reserved (`409 AMOUNT_OUT_OF_RANGE`).

use crate::foundation::money::{Currency, Money};

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
const MINIMUMS: [(&str, i64); 24] = [
    ("AED", 200),
    ("AUD", 50),
    ("BGN", 100),
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

    fn money(minor: i64) -> Money {
        Money::new(minor).expect("valid")
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code.into()).expect("valid")
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
        assert_eq!(limits(&currency("XYZ")).min, 50);
        assert!(
            MINIMUMS.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicates"
        );
    }
}
