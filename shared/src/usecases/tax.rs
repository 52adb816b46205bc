//! Tax rates and duty rules: admins read and replace them country by
//! country. Functions that price read them through the configuration cache
//! (`usecases::pricing::setup`), so a change takes effect within a minute.

use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::{self, Page};
use crate::foundation::error::Error;
use crate::model::auth::Admin;
use crate::model::markets::MarketCode;
use crate::model::tax::{self, DutyRates, DutySettings, TaxRates, TaxRatesSettings};
use crate::model::users::CountryCode;

/// One page of every country's tax rates (the shop's defaults, replaced by
/// what admins set), by country.
pub async fn list_tax_rates(
    app: &App,
    _admin: &Admin,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<TaxRates>, Error> {
    let all = tax::tax_rates_with_defaults(app.store.list_tax_rates().await?);
    let country = |r: &TaxRates| r.country.as_str().to_owned();
    cursor::page_of(
        app.config.cursor_secret()?,
        "tax-rates",
        all,
        country,
        limit,
        cursor,
    )
}

/// Replaces a country's tax rates (its regions' included).
pub async fn put_tax_rates(
    app: &App,
    _admin: &Admin,
    country: CountryCode,
    settings: TaxRatesSettings,
) -> Result<TaxRates, Error> {
    let rates = TaxRates {
        settings: settings.for_country(&country)?,
        country,
        updated_at: Timestamp::now(),
    };
    app.store.put_tax_rates(&rates).await?;
    Ok(rates)
}

/// One page of the countries' duty rules, by country.
pub async fn list_duty_rates(
    app: &App,
    _admin: &Admin,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<DutyRates>, Error> {
    let all = app.store.list_duty_rates().await?;
    let country = |r: &DutyRates| r.country.as_str().to_owned();
    cursor::page_of(
        app.config.cursor_secret()?,
        "duty-rates",
        all,
        country,
        limit,
        cursor,
    )
}

/// Replaces a country's duty rule. Its threshold must be in the currency
/// of the market that holds the country now (`400` naming
/// `threshold.currency` otherwise); should that market change currency
/// later, the rule charges nothing until it is set again.
pub async fn put_duty_rates(
    app: &App,
    _admin: &Admin,
    country: CountryCode,
    settings: DutySettings,
) -> Result<DutyRates, Error> {
    let holder = app
        .store
        .country_holder(&country)
        .await?
        .unwrap_or_else(MarketCode::default_market);
    let market = super::markets::get_market(app, &holder).await?;
    if market.settings.currency != settings.threshold.currency {
        return Err(Error::invalid(
            "threshold.currency",
            format!(
                "must be {}, the currency of the market {} that holds {}",
                market.settings.currency,
                holder.as_str(),
                country.as_str()
            ),
        ));
    }
    let rates = DutyRates {
        country,
        settings,
        updated_at: Timestamp::now(),
    };
    app.store.put_duty_rates(&rates).await?;
    Ok(rates)
}
