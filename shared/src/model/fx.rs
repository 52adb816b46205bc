//! Exchange rates: how many units of a currency one unit of the store's
//! base currency (`STORE_CURRENCY`) buys, where each came from, and when
//! a rate is too old to price with. Decimal strings, never floats.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::input::{Errors, FromJson, Object};
use crate::foundation::money::Currency;

/// Fractional digits a rate may have (openapi.yaml, `PUT /fx-rates`).
pub const RATE_DIGITS: u32 = 10;

/// How long a refreshed rate may price orders (manual rates do not age).
pub const MAX_AGE_SECS: i64 = 7 * 24 * 3600;

/// A rate: a decimal greater than 0 with at most [`RATE_DIGITS`]
/// fractional digits, written as a decimal string (`"150.25"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate(Decimal);

impl Rate {
    pub fn new(value: Decimal) -> Result<Self, String> {
        if value <= Decimal::ZERO {
            Err("must be greater than 0".into())
        } else if value.scale() > RATE_DIGITS && value.normalize().scale() > RATE_DIGITS {
            Err(format!("must have at most {RATE_DIGITS} fractional digits"))
        } else {
            Ok(Self(value.normalize()))
        }
    }

    /// A decimal string as openapi.yaml states it: a whole part without
    /// leading zeros (at most 12 digits), an optional point and 1 to
    /// [`RATE_DIGITS`] fractional digits, greater than 0; no sign,
    /// exponent or spaces.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value = crate::foundation::input::plain_decimal(text, 12, RATE_DIGITS as usize)
            .ok_or_else(|| "must be a decimal string greater than 0 such as \"0.9234\"".to_owned())?;
        Self::new(value)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> Self {
        rate.0.to_string()
    }
}

/// Where a rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// The European Central Bank's daily reference rates, rebased.
    Ecb,
    /// Set by an admin; stays until set again or deleted.
    Manual,
}

/// A rate as stored: its value, source and date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedRate {
    pub rate: Rate,
    pub source: RateSource,
    pub as_of: Timestamp,
}

impl QuotedRate {
    /// Whether the rate may price an order at `now`: a refreshed rate for
    /// [`MAX_AGE_SECS`] after its date, a manual one always.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.source == RateSource::Manual || now.unix() - self.as_of.unix() <= MAX_AGE_SECS
    }
}

/// The rate an order was priced with (`fx` on an order): from the base
/// currency to the market's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxSnapshot {
    pub from: Currency,
    pub to: Currency,
    pub rate: Rate,
    pub source: RateSource,
    pub as_of: Timestamp,
}

/// The exchange rates the shop prices with: units of each currency per
/// one unit of `base`. Stored whole, as one item; answered by `GET
/// /fx-rates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxRates {
    pub base: Currency,
    pub rates: BTreeMap<Currency, QuotedRate>,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// Currencies whose rate the refresh set.
    pub updated: usize,
    /// Currencies it left because an admin set them.
    pub manual_kept: usize,
}

impl FxRates {
    /// No rates yet.
    pub fn none(base: Currency) -> Self {
        Self {
            base,
            rates: BTreeMap::new(),
        }
    }

    /// The rate to `currency` that may price an order at `now`. Rates kept
    /// for another base (the store's currency changed) are never used.
    pub fn usable(&self, currency: Currency, base: Currency, now: Timestamp) -> Option<QuotedRate> {
        if self.base != base {
            return None;
        }
        self.rates
            .get(&currency)
            .filter(|quoted| quoted.usable(now))
            .copied()
    }

    /// These rates with each of `set` made manual at `now`.
    pub fn with_manual(mut self, set: &BTreeMap<Currency, Rate>, now: Timestamp) -> Self {
        for (currency, rate) in set {
            self.rates.insert(
                *currency,
                QuotedRate {
                    rate: *rate,
                    source: RateSource::Manual,
                    as_of: now,
                },
            );
        }
        self
    }

    /// These rates without `currency`'s manual rate; `None` when it has none.
    pub fn without_manual(mut self, currency: Currency) -> Option<Self> {
        let manual = self
            .rates
            .get(&currency)
            .is_some_and(|quoted| quoted.source == RateSource::Manual);
        manual.then(|| {
            self.rates.remove(&currency);
            self
        })
    }

    /// These rates refreshed from the ECB's, rebased, of `as_of`: every
    /// currency that is not manual takes its new rate; manual ones stay,
    /// and none is removed. Rates kept for another base are dropped first.
    pub fn refreshed(
        mut self,
        base: Currency,
        rebased: &[(Currency, Rate)],
        as_of: Timestamp,
    ) -> (Self, Refreshed) {
        if self.base != base {
            self = Self::none(base);
        }
        let mut report = Refreshed::default();
        for (currency, rate) in rebased {
            match self.rates.get(currency) {
                Some(quoted) if quoted.source == RateSource::Manual => report.manual_kept += 1,
                _ => {
                    self.rates.insert(
                        *currency,
                        QuotedRate {
                            rate: *rate,
                            source: RateSource::Ecb,
                            as_of,
                        },
                    );
                    report.updated += 1;
                }
            }
        }
        (self, report)
    }
}

/// The most currencies one `PUT /fx-rates` may name.
pub const MAX_RATES_PER_PUT: usize = 200;

/// `PUT /fx-rates`: `{"rates": {"EUR": "0.9"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualRates(pub BTreeMap<Currency, Rate>);

impl FromJson for ManualRates {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let rates = o.required("rates", |raw: BTreeMap<String, String>| {
            if raw.is_empty() || raw.len() > MAX_RATES_PER_PUT {
                return Err(format!("must name 1 to {MAX_RATES_PER_PUT} currencies"));
            }
            raw.into_iter()
                .map(|(code, rate)| {
                    let currency = Currency::strict(&code)?;
                    let rate = Rate::parse(&rate).map_err(|err| format!("{code}: {err}"))?;
                    Ok((currency, rate))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
        });
        o.end();
        Some(Self(rates?))
    }
}

/// Why rates against the euro could not be rebased.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebaseError {
    #[error("the rates do not include the base currency {0}")]
    NoBase(Currency),
    #[error("{0}'s rate is not a rate: {1}")]
    Invalid(Currency, String),
}

/// Rates in units per euro (as the ECB publishes them) rebased to units
/// per one `base`: `per_euro[c] / per_euro[base]`, and the euro itself at
/// `1 / per_euro[base]`, each rounded half up to [`RATE_DIGITS`]
/// fractional digits. The base is left out (its rate is 1).
pub fn rebase(
    per_euro: &[(Currency, Decimal)],
    base: Currency,
) -> Result<Vec<(Currency, Rate)>, RebaseError> {
    let euro = Currency::parse("EUR".into()).map_err(|err| RebaseError::Invalid(base, err))?;
    let base_per_euro = if base == euro {
        Decimal::ONE
    } else {
        per_euro
            .iter()
            .find(|(currency, _)| *currency == base)
            .map(|(_, rate)| *rate)
            .ok_or(RebaseError::NoBase(base))?
    };
    let rebased = |currency: Currency, per_euro: Decimal| {
        let value = per_euro
            .checked_div(base_per_euro)
            .ok_or_else(|| RebaseError::Invalid(currency, "out of range".into()))?
            .round_dp_with_strategy(RATE_DIGITS, RoundingStrategy::MidpointAwayFromZero);
        Rate::new(value).map_err(|err| RebaseError::Invalid(currency, err))
    };
    let mut rates = Vec::new();
    if base != euro {
        rates.push((euro, rebased(euro, Decimal::ONE)?));
    }
    for (currency, rate) in per_euro {
        if *currency != base && *currency != euro {
            rates.push((*currency, rebased(*currency, *rate)?));
        }
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::money::testing::currency;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn manual_rates_name_currencies_as_answered_with_rates_as_strings() {
        use crate::foundation::input::parse_document;
        let read: ManualRates =
            parse_document(serde_json::json!({"rates": {"EUR": "0.9", "KWD": "0.30712"}})).expect("valid");
        assert_eq!(read.0.len(), 2);
        for bad in [
            serde_json::json!({"rates": {}}),
            serde_json::json!({"rates": {"eur": "0.9"}}),
            serde_json::json!({"rates": {"XYZ": "0.9"}}),
            serde_json::json!({"rates": {"EUR": 0.9}}),
            serde_json::json!({"rates": {"EUR": "0.12345678901"}}),
            serde_json::json!({"rates": {"EUR": "0.9"}, "base": "USD"}),
        ] {
            assert!(parse_document::<ManualRates>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_are_positive_decimal_strings_of_at_most_ten_digits() {
        assert_eq!(Rate::parse("150.25").map(String::from), Ok("150.25".into()));
        assert_eq!(Rate::parse("0.9000").map(String::from), Ok("0.9".into()));
        assert!(Rate::parse("0.0000000001").is_ok());
        for bad in [
            "0",
            "0.0",
            "-1",
            "1e3",
            " 1",
            "1.",
            ".5",
            "1.2.3",
            "",
            "0.00000000001",
            "1.50000000000",
            "01.5",
            "1234567890123",
            "NaN",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad:?}");
        }
        let rate: Rate = serde_json::from_str("\"0.9234\"").expect("json");
        assert_eq!(serde_json::to_string(&rate).expect("json"), "\"0.9234\"");
    }

    #[test]
    fn refreshed_rates_age_and_manual_ones_do_not() {
        let as_of = Timestamp::from_unix(1_000_000);
        let quoted = |source| QuotedRate {
            rate: Rate::parse("1.1").expect("valid"),
            source,
            as_of,
        };
        let week = as_of.plus_secs(MAX_AGE_SECS);
        assert!(quoted(RateSource::Ecb).usable(week));
        assert!(!quoted(RateSource::Ecb).usable(week.plus_secs(1)));
        assert!(quoted(RateSource::Manual).usable(week.plus_secs(365 * 24 * 3600)));
    }

    #[test]
    fn euro_rates_rebase_to_the_store_currency() {
        let per_euro = [
            (currency("USD"), dec("1.1625")),
            (currency("JPY"), dec("180.52")),
            (currency("GBP"), dec("0.87325")),
        ];
        let usd = rebase(&per_euro, currency("USD")).expect("rebased");
        assert_eq!(
            usd,
            [
                (currency("EUR"), Rate::parse("0.8602150538").expect("valid")),
                (currency("JPY"), Rate::parse("155.2860215054").expect("valid")),
                (currency("GBP"), Rate::parse("0.7511827957").expect("valid")),
            ]
        );
        // Against the euro they are the published rates, as they are.
        let eur = rebase(&per_euro, currency("EUR")).expect("rebased");
        assert_eq!(eur[0], (currency("USD"), Rate::parse("1.1625").expect("valid")));
        assert_eq!(
            rebase(&per_euro, currency("KWD")),
            Err(RebaseError::NoBase(currency("KWD")))
        );
    }

    /// Random euro rates: each rebased rate times the base's euro rate is
    /// the published rate, within the rounding of the 10th digit.
    #[test]
    fn rebased_rates_agree_with_the_published_ones() {
        let all: Vec<Currency> = Currency::all().filter(|c| c.as_str() != "EUR").collect();
        let mut rng = fastrand::Rng::with_seed(4217);
        for _ in 0..2_000 {
            let mut per_euro: Vec<(Currency, Decimal)> = Vec::new();
            for _ in 0..rng.usize(1..30) {
                let currency = all[rng.usize(..all.len())];
                if per_euro.iter().all(|(c, _)| *c != currency) {
                    // 0.0001 to 100,000 units per euro: ratios stay above 10^-10.
                    per_euro.push((currency, Decimal::new(rng.i64(1..10_000_000), rng.u32(2..=4))));
                }
            }
            let (base, base_per_euro) = per_euro[rng.usize(..per_euro.len())];
            let rebased = rebase(&per_euro, base).expect("rebased");
            assert_eq!(rebased.len(), per_euro.len(), "the euro in, the base out");
            let half_digit = Decimal::new(5, RATE_DIGITS + 1);
            for (currency, rate) in rebased {
                let published = per_euro
                    .iter()
                    .find(|(c, _)| *c == currency)
                    .map_or(Decimal::ONE, |(_, r)| *r);
                let error = (rate.value() * base_per_euro - published).abs();
                assert!(
                    error <= half_digit * base_per_euro,
                    "{currency} against {base}: {rate:?} × {base_per_euro} vs {published}"
                );
            }
        }
    }
}
