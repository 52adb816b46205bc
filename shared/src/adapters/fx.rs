//! The European Central Bank's euro foreign exchange reference rates
//! (`FX_RATES_URL`; by default the daily XML), read into the model's terms:
//! units of each currency per euro, dated. The model rebases them to the
//! store's currency (`model::fx::rebase`).

use rust_decimal::Decimal;

use crate::foundation::clock::Timestamp;
use crate::foundation::money::Currency;

/// The ECB's namespace of the rates' `Cube` elements.
const EUROFXREF: &str = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref";

/// One day's reference rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuroRates {
    /// The day they were published for, at 00:00 UTC.
    pub as_of: Timestamp,
    /// Units of each currency one euro buys.
    pub per_euro: Vec<(Currency, Decimal)>,
    /// Codes published that are not currencies in use here (passed over).
    pub skipped: Vec<String>,
}

impl EuroRates {
    /// Whether rates of this date may still price orders at `now`.
    pub fn is_recent(&self, now: Timestamp) -> bool {
        now.unix() - self.as_of.unix() <= crate::model::fx::MAX_AGE_SECS
    }
}

/// Reads the ECB's XML: the first dated `Cube` and its `Cube currency
/// rate` elements. Anything else in the document is ignored; a document
/// without a dated cube, or with a rate that is not a positive decimal, is
/// an error (the last rates are kept).
pub fn parse_ecb(xml: &str) -> Result<EuroRates, String> {
    let document = roxmltree::Document::parse(xml).map_err(|err| format!("not XML: {err}"))?;
    let cube = |node: &roxmltree::Node| node.has_tag_name((EUROFXREF, "Cube"));
    let day = document
        .descendants()
        .find(|node| cube(node) && node.has_attribute("time"))
        .ok_or("no dated Cube element")?;
    let date = day.attribute("time").unwrap_or_default();
    let as_of =
        Timestamp::parse(&format!("{date}T00:00:00Z")).map_err(|_| format!("time {date:?} is not a date"))?;
    let mut per_euro = Vec::new();
    let mut skipped = Vec::new();
    for entry in day.children().filter(|node| cube(node)) {
        let (Some(code), Some(rate)) = (entry.attribute("currency"), entry.attribute("rate")) else {
            return Err("a Cube without currency and rate".into());
        };
        let rate: Decimal = rate
            .parse()
            .ok()
            .filter(|rate: &Decimal| *rate > Decimal::ZERO)
            .ok_or_else(|| format!("{code}'s rate {rate:?} is not a positive decimal"))?;
        match Currency::parse(code.to_owned()) {
            Ok(currency) => per_euro.push((currency, rate)),
            Err(_) => skipped.push(code.to_owned()),
        }
    }
    if per_euro.is_empty() {
        return Err("no rates".into());
    }
    Ok(EuroRates {
        as_of,
        per_euro,
        skipped,
    })
}

/// The largest rates document read (the ECB's is about 2 KiB).
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Reads the rates at `url` (one GET, 10 s at most).
pub async fn fetch_ecb(url: &str) -> Result<EuroRates, String> {
    let client = super::http_client()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|err| format!("no HTTP client: {err}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: {status}"));
    }
    let body = response
        .bytes()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("GET {url}: {} bytes is not a rates file", body.len()));
    }
    let text = std::str::from_utf8(&body).map_err(|_| format!("GET {url}: not UTF-8"))?;
    parse_ecb(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fx::{Rate, rebase};

    const FIXTURE: &str = include_str!("../../../tests/fixtures/ecb/eurofxref-daily.xml");

    #[test]
    fn the_ecb_daily_file_reads_as_dated_rates_per_euro() {
        let rates = parse_ecb(FIXTURE).expect("parsed");
        assert_eq!(rates.as_of.to_string(), "2026-12-04T00:00:00Z");
        assert_eq!(rates.per_euro.len(), 29);
        assert!(rates.skipped.is_empty());
        let usd = Currency::parse("USD".into()).expect("valid");
        assert_eq!(rates.per_euro[0], (usd, "1.1625".parse().expect("decimal")));
        let jpy = rebase(&rates.per_euro, usd)
            .expect("rebased")
            .into_iter()
            .find(|(c, _)| c.as_str() == "JPY")
            .expect("JPY");
        assert_eq!(jpy.1, Rate::parse("155.2860215054").expect("valid"));
    }

    #[test]
    fn broken_files_are_errors_and_unknown_codes_are_passed_over() {
        let wrap = |cubes: &str| {
            format!(
                r#"<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="{EUROFXREF}"><Cube><Cube time="2026-12-04">{cubes}</Cube></Cube></gesmes:Envelope>"#
            )
        };
        assert!(parse_ecb("not xml").is_err());
        assert!(parse_ecb(&wrap("")).is_err(), "no rates");
        assert!(parse_ecb(&wrap(r#"<Cube currency="USD" rate="-1"/>"#)).is_err());
        assert!(parse_ecb(&wrap(r#"<Cube currency="USD" rate="1,2"/>"#)).is_err());
        assert!(parse_ecb(&wrap(r#"<Cube currency="USD"/>"#)).is_err());
        let read = parse_ecb(&wrap(
            r#"<Cube currency="USD" rate="1.1"/><Cube currency="XYZ" rate="2"/>"#,
        ))
        .expect("parsed");
        assert_eq!(read.per_euro.len(), 1);
        assert_eq!(read.skipped, ["XYZ"]);
        // Outside the ECB's namespace, a Cube is not a rate.
        let foreign = r#"<a><Cube time="2026-12-04"><Cube currency="USD" rate="1.1"/></Cube></a>"#;
        assert!(parse_ecb(foreign).is_err());
    }
}
