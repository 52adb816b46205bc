//! An email's language and its money and dates, formatted from CLDR data
//! (ICU4X): nothing here knows how a locale writes a number or a date.

use fixed_decimal::Decimal;
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_locale::{LanguageIdentifier, Locale, LocaleExpander, locale};

use crate::foundation::clock::Timestamp;
use crate::foundation::money::Currency;

/// The languages the shop's emails are written in; any other reads
/// English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    De,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }
}

/// Who an email is written for: its language, and the locale its money and
/// dates are formatted in (the language in the recipient's region: `de-AT`,
/// `en-US`; English elsewhere reads as international English, `en-001`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLocale {
    pub language: Language,
    locale: Locale,
}

impl EmailLocale {
    /// English, for a recipient the shop knows nothing about.
    pub fn english() -> Self {
        Self {
            language: Language::En,
            locale: locale!("en-001"),
        }
    }

    /// For a recipient who asked for `preferred` (a BCP 47 tag the shop
    /// recorded), else for one in `country` (ISO 3166-1 alpha-2): the
    /// country's most likely language by CLDR (`AT` → `de-AT`), in English
    /// where the shop has no templates in it.
    pub fn choose(preferred: Option<&str>, country: Option<&str>) -> Self {
        let expander = LocaleExpander::new_common();
        let from_country = country.and_then(|country| {
            let mut id: LanguageIdentifier = format!("und-{country}").parse().ok()?;
            expander.maximize(&mut id);
            Some(id)
        });
        let from_preference = preferred.and_then(|tag| {
            let mut id: LanguageIdentifier = tag.parse().ok()?;
            if id.region.is_none()
                && let Some(region) = from_country.as_ref().and_then(|c| c.region)
            {
                id.region = Some(region);
            }
            Some(id)
        });
        let Some(id) = from_preference.or(from_country) else {
            return Self::english();
        };
        let language = match id.language.as_str() {
            "de" => Language::De,
            "en" => Language::En,
            _ => return Self::in_region(Language::En, &id),
        };
        Self::in_region(language, &id)
    }

    fn in_region(language: Language, id: &LanguageIdentifier) -> Self {
        let tag = match id.region {
            Some(region) => format!("{}-{}", language.as_str(), region.as_str()),
            None if language == Language::En => "en-001".into(),
            None => language.as_str().into(),
        };
        Self {
            language,
            locale: tag.parse().unwrap_or(locale!("en-001")),
        }
    }

    /// The locale's tag (`de-AT`).
    pub fn tag(&self) -> String {
        self.locale.to_string()
    }

    /// `minor` units of `currency`, with its symbol, as the locale writes
    /// money: `€106.88` in `en-IE`, `106,88 €` in `de-DE`, `¥1,200` in
    /// `en-JP`.
    pub fn money(&self, minor: i64, currency: Currency) -> String {
        let exponent = i16::try_from(currency.exponent()).unwrap_or(0);
        let mut amount = Decimal::from(minor);
        amount.multiply_pow10(-exponent);
        amount.pad_end(-exponent);
        let code = currency.as_str();
        match code.parse().ok().and_then(|code| {
            CurrencyFormatter::try_new_symbol((&self.locale).into(), code, Default::default()).ok()
        }) {
            Some(formatter) => formatter.format_fixed_decimal(&amount).to_string(),
            None => format!("{amount} {code}"),
        }
    }

    /// The day of `at` (UTC), as the locale writes a date in full:
    /// `5 December 2026`, `5. Dezember 2026`.
    pub fn date(&self, at: Timestamp) -> String {
        let (year, month, day) = at.ymd();
        let formatted = Date::try_new_gregorian(year, month, day).ok().and_then(|date| {
            FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&self.locale).into(), YMD::long())
                .ok()
                .map(|formatter| formatter.format(&date).to_string())
        });
        formatted.unwrap_or_else(|| format!("{year:04}-{month:02}-{day:02}"))
    }
}

/// The language an `Accept-Language` header prefers most (its entry of
/// highest `q`, the first of equals; `*` and `q=0` never), as a BCP 47 tag
/// that parses.
pub fn preferred_language(header: &str) -> Option<String> {
    let mut best: Option<(f32, LanguageIdentifier)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let tag = parts.next().unwrap_or_default();
        let weight = parts
            .find_map(|part| part.strip_prefix("q="))
            .map_or(Some(1.0), |q| q.parse::<f32>().ok())
            .unwrap_or(0.0);
        let Ok(id) = tag.parse::<LanguageIdentifier>() else {
            continue;
        };
        if tag == "*" || weight <= 0.0 || best.as_ref().is_some_and(|(w, _)| *w >= weight) {
            continue;
        }
        best = Some((weight, id));
    }
    best.map(|(_, id)| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR".into()).expect("EUR")
    }

    #[test]
    fn the_language_comes_from_the_preference_else_the_country() {
        assert_eq!(EmailLocale::choose(None, Some("DE")).tag(), "de-DE");
        assert_eq!(EmailLocale::choose(None, Some("AT")).tag(), "de-AT");
        assert_eq!(EmailLocale::choose(None, Some("US")).tag(), "en-US");
        // Dutch has no templates: English, formatted for the Netherlands.
        let nl = EmailLocale::choose(None, Some("NL"));
        assert_eq!((nl.language, nl.tag().as_str()), (Language::En, "en-NL"));
        assert_eq!(EmailLocale::choose(Some("de"), Some("US")).tag(), "de-US");
        assert_eq!(EmailLocale::choose(Some("en-GB"), Some("DE")).tag(), "en-GB");
        assert_eq!(EmailLocale::choose(None, None), EmailLocale::english());
        assert_eq!(
            EmailLocale::choose(Some("not a tag!"), Some("ZZ")),
            EmailLocale::english()
        );
    }

    #[test]
    fn the_preferred_language_is_the_headers_highest() {
        assert_eq!(
            preferred_language("de-CH,de;q=0.9,en;q=0.8").as_deref(),
            Some("de-CH")
        );
        assert_eq!(preferred_language("en;q=0.5, de;q=0.9").as_deref(), Some("de"));
        assert_eq!(preferred_language("fr;q=0, *;q=0.5").as_deref(), None);
        assert_eq!(preferred_language("not a tag!, en-GB").as_deref(), Some("en-GB"));
        assert_eq!(preferred_language("").as_deref(), None);
    }

    #[test]
    fn money_is_written_the_locales_way_to_the_currencys_exponent() {
        let de = EmailLocale::choose(None, Some("DE"));
        assert_eq!(de.money(10688, eur()), "106,88\u{a0}€");
        assert_eq!(de.money(123_456_700, eur()), "1.234.567,00\u{a0}€");
        let us = EmailLocale::choose(None, Some("US"));
        assert_eq!(us.money(10688, eur()), "€106.88");
        assert_eq!(
            us.money(100, Currency::parse("USD".into()).expect("USD")),
            "$1.00"
        );
        assert_eq!(
            us.money(1200, Currency::parse("JPY".into()).expect("JPY")),
            "¥1,200"
        );
        assert_eq!(
            us.money(1234, Currency::parse("KWD".into()).expect("KWD")),
            "KWD\u{a0}1.234"
        );
    }

    #[test]
    fn dates_are_written_in_full_in_the_language() {
        let at = Timestamp::parse("2026-12-05T09:30:00Z").expect("time");
        assert_eq!(EmailLocale::choose(None, Some("DE")).date(at), "5. Dezember 2026");
        assert_eq!(EmailLocale::choose(None, Some("US")).date(at), "December 5, 2026");
        assert_eq!(EmailLocale::choose(None, Some("GB")).date(at), "5 December 2026");
    }
}
