//! Tax rates and duty rules per destination country (openapi.yaml, "Tax",
//! "Duties"), and the rates that apply to one address. The shop ships
//! default VAT/GST rates (`shared/data/tax-rates.json`, with its source and
//! date) that an admin may replace country by country.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::input::{Errors, FromJson, Object};
use crate::foundation::money::{Amount, Currency};
use crate::model::pricing::{DutyRule, Percent, TaxRatesAt};
use crate::model::products::TaxCategory;
use crate::model::users::{CountryCode, RegionCode};

/// Rates by tax category.
pub type CategoryRates = BTreeMap<TaxCategory, Percent>;

/// A country's tax rates, and its regions' where they differ (each the
/// combined rate for its categories).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRatesSettings {
    pub rates: CategoryRates,
    #[serde(default)]
    pub subdivisions: BTreeMap<String, CategoryRates>,
}

impl TaxRatesSettings {
    /// The rates at an address in this country: a region's rate of a
    /// category replaces the country's.
    pub fn at(&self, region: Option<&RegionCode>) -> TaxRatesAt {
        let mut rates = self.rates.clone();
        if let Some(own) = region.and_then(|r| self.subdivisions.get(r.as_str())) {
            rates.extend(own.iter().map(|(c, r)| (c.clone(), *r)));
        }
        TaxRatesAt { rates }
    }
}

/// The most categories (or regions) one entry may list.
const MAX_ENTRIES: usize = 50;

fn category_rates(raw: BTreeMap<String, String>) -> Result<CategoryRates, String> {
    if raw.len() > MAX_ENTRIES {
        return Err(format!("may list at most {MAX_ENTRIES} categories"));
    }
    raw.into_iter()
        .map(|(category, rate)| {
            let name = TaxCategory::parse(category.clone()).map_err(|err| format!("{category:?}: {err}"))?;
            let rate = Percent::parse(&rate).map_err(|err| format!("{category}: {err}"))?;
            Ok((name, rate))
        })
        .collect()
}

/// `PUT /tax-rates/{country}`: the country's whole entry (its regions
/// checked against the country by [`TaxRatesSettings::for_country`]).
impl FromJson for TaxRatesSettings {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let rates = o.required("rates", category_rates);
        let subdivisions = o.optional(
            "subdivisions",
            |raw: BTreeMap<String, BTreeMap<String, String>>| {
                if raw.len() > MAX_ENTRIES {
                    return Err(format!("may list at most {MAX_ENTRIES} regions"));
                }
                raw.into_iter()
                    .map(|(region, rates)| {
                        RegionCode::parse(region.clone()).map_err(|err| format!("{region:?}: {err}"))?;
                        Ok((region, category_rates(rates)?))
                    })
                    .collect::<Result<BTreeMap<_, _>, String>>()
            },
        );
        o.end();
        Some(Self {
            rates: rates?,
            subdivisions: subdivisions?.unwrap_or_default(),
        })
    }
}

impl TaxRatesSettings {
    /// These rates as `country`'s: each region must be one of its regions
    /// (`400` naming `subdivisions` otherwise).
    pub fn for_country(self, country: &CountryCode) -> Result<Self, Error> {
        let rules = crate::model::addresses::rules(country.as_str());
        let prefix = format!("{}-", country.as_str());
        for region in self.subdivisions.keys() {
            let known = rules.is_some_and(|rules| {
                rules.regions.contains_key(region)
                    || (rules.regions.is_empty() && region.starts_with(&prefix))
            });
            if !known {
                return Err(Error::invalid(
                    "subdivisions",
                    format!("{region} is not a region of {}", country.as_str()),
                ));
            }
        }
        Ok(self)
    }
}

#[derive(Deserialize)]
struct Defaults {
    as_of: String,
    countries: BTreeMap<String, TaxRatesSettings>,
}

static DEFAULTS: LazyLock<Defaults> = LazyLock::new(|| {
    serde_json::from_str::<Defaults>(include_str!("../../data/tax-rates.json")).unwrap_or(Defaults {
        as_of: String::new(),
        countries: BTreeMap::new(),
    })
});

/// The shop's default rates of `country`, if it ships any.
pub fn default_rates(country: &CountryCode) -> Option<&'static TaxRatesSettings> {
    DEFAULTS.countries.get(country.as_str())
}

/// Every country the shop ships default rates for.
pub fn countries_with_default_rates() -> impl Iterator<Item = &'static str> {
    DEFAULTS.countries.keys().map(String::as_str)
}

/// A country's tax rates as answered (`GET /tax-rates`) and stored: set by
/// an admin, or the shop's default (then `updated_at` is the data's date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRates {
    pub country: CountryCode,
    #[serde(flatten)]
    pub settings: TaxRatesSettings,
    pub updated_at: Timestamp,
}

/// Every country's tax rates: the shop's defaults, each replaced by what
/// an admin set (`stored`), by country.
pub fn tax_rates_with_defaults(stored: Vec<TaxRates>) -> Vec<TaxRates> {
    let as_of = Timestamp::parse(&format!("{}T00:00:00Z", DEFAULTS.as_of)).unwrap_or(Timestamp::from_unix(0));
    let mut all: BTreeMap<String, TaxRates> = DEFAULTS
        .countries
        .iter()
        .filter_map(|(code, settings)| {
            Some((
                code.clone(),
                TaxRates {
                    country: CountryCode::strict(code.clone()).ok()?,
                    settings: settings.clone(),
                    updated_at: as_of,
                },
            ))
        })
        .collect();
    all.extend(stored.into_iter().map(|r| (r.country.as_str().to_owned(), r)));
    all.into_values().collect()
}

/// What tax a destination pays: its country's rates (set, else default)
/// and its region's.
pub fn rates_at(
    all: &BTreeMap<CountryCode, TaxRatesSettings>,
    country: &CountryCode,
    region: Option<&RegionCode>,
) -> TaxRatesAt {
    all.get(country)
        .or_else(|| default_rates(country))
        .map(|settings| settings.at(region))
        .unwrap_or_default()
}

/// A country's duty rule as set: the threshold in a market's currency,
/// the default rate and rates by HS chapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutySettings {
    pub threshold: Threshold,
    pub default_rate: Percent,
    #[serde(default)]
    pub chapters: BTreeMap<String, Percent>,
}

/// A country's duty rule as answered and stored (`GET /duty-rates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyRates {
    pub country: CountryCode,
    #[serde(flatten)]
    pub settings: DutySettings,
    pub updated_at: Timestamp,
}

/// A duty threshold: an amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub amount: i64,
    pub currency: Currency,
}

impl DutySettings {
    /// The rule for a cart in `currency`: `None` when the threshold is in
    /// another (the market that holds the country changed its currency
    /// since; no duty is computed on a threshold that cannot be compared).
    pub fn rule_in(&self, currency: Currency) -> Option<DutyRule> {
        (self.threshold.currency == currency).then(|| DutyRule {
            threshold: self.threshold.amount,
            default_rate: self.default_rate,
            chapters: self.chapters.clone(),
        })
    }
}

impl FromJson for DutySettings {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let threshold = o.required("threshold", |raw: BTreeMap<String, Value>| {
            let mut raw = raw;
            let amount = raw
                .remove("amount")
                .and_then(|a| a.as_i64())
                .filter(|a| (0..=crate::model::charges::MAX_CHARGE).contains(a))
                .ok_or("amount must be an integer of minor units from 0")?;
            let currency = raw
                .remove("currency")
                .and_then(|c| c.as_str().map(str::to_owned))
                .ok_or("currency is required".to_owned())
                .and_then(|c| Currency::strict(&c))?;
            if !raw.is_empty() {
                return Err("holds only amount and currency".to_owned());
            }
            Amount::new(amount, currency)
                .map_err(|_| format!("amount must be whole steps of {currency} ({})", currency.step()))?;
            Ok(Threshold { amount, currency })
        });
        let default_rate = o.required("default_rate", |rate: String| Percent::parse(&rate));
        let chapters = o.optional("chapters", |raw: BTreeMap<String, String>| {
            if raw.len() > 99 {
                return Err("may list at most 99 chapters".to_owned());
            }
            raw.into_iter()
                .map(|(chapter, rate)| {
                    if chapter.len() != 2 || !chapter.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("{chapter:?} is not an HS chapter (two digits)"));
                    }
                    Ok((chapter, Percent::parse(&rate)?))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
        });
        o.end();
        Some(Self {
            threshold: threshold?,
            default_rate: default_rate?,
            chapters: chapters?.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::testing::currency;

    fn country(code: &str) -> CountryCode {
        CountryCode::strict(code.into()).expect("valid")
    }

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code.into()).expect("valid")
    }

    fn rate(rates: &TaxRatesAt, category: &str) -> Option<String> {
        rates
            .rates
            .get(&TaxCategory::parse(category.into()).expect("valid"))
            .map(|r| String::from(*r))
    }

    #[test]
    fn the_defaults_cover_the_countries_the_contract_lists() {
        let listed: Vec<&str> = countries_with_default_rates().collect();
        for code in [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
            "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "NO", "CH", "AU", "NZ",
            "JP", "CA",
        ] {
            assert!(listed.contains(&code), "{code} has no default rates");
            assert!(crate::model::addresses::rules(code).is_some(), "{code}");
        }
        assert_eq!(listed.len(), 34);
        let germany = default_rates(&country("DE")).expect("there").at(None);
        assert_eq!(
            (rate(&germany, "standard"), rate(&germany, "reduced")),
            (Some("19".into()), Some("7".into()))
        );
    }

    #[test]
    fn a_regions_rate_replaces_the_countrys_for_its_categories() {
        let canada = default_rates(&country("CA")).expect("there");
        assert_eq!(
            rate(&canada.at(Some(&region("CA-QC"))), "standard"),
            Some("14.975".into())
        );
        assert_eq!(
            rate(&canada.at(Some(&region("CA-AB"))), "standard"),
            Some("5".into())
        );
        assert_eq!(rate(&canada.at(None), "standard"), Some("5".into()));
        for subdivision in canada.subdivisions.keys() {
            assert!(
                crate::model::addresses::rules("CA").is_some_and(|r| r.regions.contains_key(subdivision)),
                "{subdivision}"
            );
        }
    }

    #[test]
    fn tax_rates_are_checked_field_by_field() {
        let read: TaxRatesSettings = parse_document(
            json!({"rates": {"standard": "5"}, "subdivisions": {"CA-QC": {"standard": "14.975"}}}),
        )
        .expect("valid");
        assert_eq!(read.subdivisions.len(), 1);
        assert!(read.clone().for_country(&country("CA")).is_ok());
        let Err(Error::Validation(errors)) = read.for_country(&country("US")) else {
            panic!("CA-QC is no region of the US")
        };
        assert_eq!(errors[0].field, "subdivisions");
        let Err(Error::Validation(errors)) = parse_document::<TaxRatesSettings>(json!({
            "rates": {"Standard": "5", "reduced": "101"}, "subdivisions": {"QC": {"standard": "8"}}, "x": 1
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rates", "subdivisions", "x"]);
    }

    #[test]
    fn duty_rules_hold_a_threshold_in_one_currency() {
        let rule: DutySettings = parse_document(json!({
            "threshold": {"amount": 15000, "currency": "EUR"}, "default_rate": "4", "chapters": {"61": "12", "85": "0"}
        }))
        .expect("valid");
        let in_euros = rule.rule_in(currency("EUR")).expect("the threshold's currency");
        assert_eq!(
            (in_euros.threshold, String::from(in_euros.default_rate)),
            (15000, "4".into())
        );
        assert_eq!(rule.rule_in(currency("USD")), None);
        let Err(Error::Validation(errors)) = parse_document::<DutySettings>(json!({
            "threshold": {"amount": 15005, "currency": "KWD"}, "default_rate": "4.12345", "chapters": {"6": "1"}
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["threshold", "default_rate", "chapters"]);
    }
}
