//! Addresses by the country's rules: which fields it requires, its
//! postal-code format, its regions (ISO 3166-2) and, where the data has
//! them, the postal-code prefixes of each region. The rules are Google's
//! address metadata (libaddressinput), generated into
//! `shared/data/address-rules.json` with its source and licence by
//! `scripts/gen_address_rules.py`; one validator ([`check`]) serves every
//! endpoint that takes an address.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The generated rules, as shipped.
const RULES_JSON: &str = include_str!("../../data/address-rules.json");

/// One country's rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CountryRules {
    /// The fields it requires beyond the name and first line (`city`,
    /// `postal_code`, `region`).
    pub required: Vec<String>,
    /// Its postal codes' format (a regular expression of the whole code).
    pub postal_code: Option<String>,
    /// A postal code of its own, from the data.
    pub postal_code_example: Option<String>,
    /// Its regions by ISO 3166-2 code, each with the start of its postal
    /// codes where the data has it.
    pub regions: BTreeMap<String, Option<String>>,
}

#[derive(Deserialize)]
struct Rules {
    countries: BTreeMap<String, CountryRules>,
}

static RULES: LazyLock<BTreeMap<String, CountryRules>> = LazyLock::new(|| {
    serde_json::from_str::<Rules>(RULES_JSON)
        .map(|rules| rules.countries)
        .unwrap_or_default()
});

/// The rules of `country` (upper case), if the data knows it.
pub fn rules(country: &str) -> Option<&'static CountryRules> {
    RULES.get(country)
}

/// Every country the data knows, in order.
pub fn countries() -> impl Iterator<Item = &'static str> {
    RULES.keys().map(String::as_str)
}

/// An address's fields as given, for [`check`].
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    pub city: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// What is wrong with an address in `country` (a field and why), by the
/// country's rules: each field it requires is there, the postal code has
/// its format and (where the data has it) the region's prefix, the region
/// is one of its own.
pub fn check(country: &str, given: Given<'_>) -> Vec<(&'static str, String)> {
    let Some(rules) = rules(country) else {
        return vec![(
            "country",
            format!("{country} is not a country the shop can ship to"),
        )];
    };
    let mut problems = Vec::new();
    for (field, value) in [
        ("city", given.city),
        ("postal_code", given.postal_code),
        ("region", given.region),
    ] {
        if value.is_none() && rules.required.iter().any(|r| r == field) {
            problems.push((field, format!("is required in {country}")));
        }
    }
    let postal_code = given.postal_code.map(|code| code.trim().to_ascii_uppercase());
    if let (Some(code), Some(format)) = (&postal_code, &rules.postal_code)
        && !matches_whole(format, code)
    {
        let example = rules
            .postal_code_example
            .as_deref()
            .map(|e| format!(" such as {e}"))
            .unwrap_or_default();
        problems.push((
            "postal_code",
            format!("is not a postal code of {country}{example}"),
        ));
    }
    if let Some(region) = given.region {
        let known = rules.regions.contains_key(region)
            || (rules.regions.is_empty()
                && region
                    .strip_prefix(country)
                    .is_some_and(|rest| rest.starts_with('-')));
        if !known {
            problems.push(("region", format!("is not a region of {country} (ISO 3166-2)")));
        } else if let (Some(code), Some(Some(prefix))) = (&postal_code, rules.regions.get(region))
            && !problems.iter().any(|(field, _)| *field == "postal_code")
            && !matches_start(prefix, code)
        {
            problems.push(("postal_code", format!("is not a postal code of {region}")));
        }
    }
    problems
}

fn matches_whole(pattern: &str, text: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(text))
}

fn matches_start(pattern: &str, text: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{pattern})")).is_ok_and(|re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given<'a>(city: Option<&'a str>, postal_code: Option<&'a str>, region: Option<&'a str>) -> Given<'a> {
        Given {
            city,
            postal_code,
            region,
        }
    }

    #[test]
    fn the_data_is_shipped_and_every_format_compiles_and_holds_its_example() {
        assert!(countries().count() > 240, "{}", countries().count());
        for country in countries() {
            let rules = rules(country).expect("there");
            if let Some(format) = &rules.postal_code {
                assert!(regex_lite::Regex::new(format).is_ok(), "{country}: {format}");
                if let Some(example) = &rules.postal_code_example {
                    assert!(
                        matches_whole(format, example),
                        "{country}: {example} against {format}"
                    );
                }
            }
            for (region, prefix) in &rules.regions {
                assert!(region.starts_with(&format!("{country}-")), "{region}");
                if let Some(prefix) = prefix {
                    assert!(regex_lite::Regex::new(prefix).is_ok(), "{region}: {prefix}");
                }
            }
        }
    }

    #[test]
    fn a_us_address_needs_its_state_and_a_zip_code_of_that_state() {
        assert!(check("US", given(Some("Los Angeles"), Some("90001"), Some("US-CA"))).is_empty());
        assert!(check("US", given(Some("Albany"), Some("12207-1234"), Some("US-NY"))).is_empty());
        assert_eq!(
            check("US", given(Some("Los Angeles"), Some("90001"), Some("US-NY"))),
            [("postal_code", "is not a postal code of US-NY".to_owned())]
        );
        assert_eq!(
            check("US", given(None, Some("9000"), None))
                .iter()
                .map(|(field, _)| *field)
                .collect::<Vec<_>>(),
            ["city", "region", "postal_code"]
        );
        assert_eq!(
            check("US", given(Some("X"), Some("90001"), Some("US-ZZ")))[0].0,
            "region"
        );
    }

    #[test]
    fn other_countries_by_their_own_rules() {
        // Germany: five digits, no region required.
        assert!(check("DE", given(Some("Berlin"), Some("10115"), None)).is_empty());
        assert_eq!(
            check("DE", given(Some("Berlin"), Some("1011"), None))[0].0,
            "postal_code"
        );
        // The UK: any case, as people write it.
        assert!(check("GB", given(Some("London"), Some("sw1a 1aa"), None)).is_empty());
        // Japan: a prefecture, no city required.
        assert!(check("JP", given(None, Some("100-0001"), Some("JP-13"))).is_empty());
        assert_eq!(check("JP", given(None, Some("100-0001"), None))[0].0, "region");
        // The Emirates: no postal codes, an emirate required.
        assert!(check("AE", given(None, None, Some("AE-DU"))).is_empty());
        assert_eq!(check("XX", given(None, None, None))[0].0, "country");
    }
}
