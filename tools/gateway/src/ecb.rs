//! The European Central Bank's stand-in: `GET /_local/ecb/eurofxref-daily.xml`
//! answers the reference-rates fixture (`tests/fixtures/ecb/`, in the
//! ECB's format) dated the day it is asked, as the ECB's daily file is.
//! The stack points `FX_RATES_URL` here; nothing else is served under
//! `/_local/`, and no deployed route starts with it.

/// The stand-in's path.
pub const PATH: &str = "/_local/ecb/eurofxref-daily.xml";

const FIXTURE: &str = include_str!("../../../tests/fixtures/ecb/eurofxref-daily.xml");

/// The fixture dated `today` (`YYYY-MM-DD`).
pub fn daily_file(today: &str) -> String {
    match FIXTURE.find("time=\"") {
        Some(at) => {
            let start = at + "time=\"".len();
            let end = start + "YYYY-MM-DD".len();
            format!("{}{today}{}", &FIXTURE[..start], &FIXTURE[end..])
        }
        None => FIXTURE.to_owned(),
    }
}

/// Today's date in UTC, as the ECB writes it.
pub fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_is_dated_the_day_it_is_asked() {
        let file = daily_file("2031-01-02");
        let rates = shared::adapters::fx::parse_ecb(&file).expect("the ECB's format");
        assert_eq!(rates.as_of.to_string(), "2031-01-02T00:00:00Z");
        assert_eq!(rates.per_euro.len(), 29);
    }
}
