//! What every priced request reads: the markets, the exchange rates, the
//! tax rates, the duty rules and the promotions.
//! A function keeps them for `CONFIG_CACHE_SECONDS` (at most 60, the
//! contract's bound: an admin's change takes effect within a minute), so a
//! warm function prices an order with no request beyond the catalogue's.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::fx::FxRates;
use crate::model::markets::{MarketCode, PriceList};
use crate::model::quote::Setup;
use crate::model::users::CountryCode;

/// The markets and rates: as cached if read within
/// `CONFIG_CACHE_SECONDS`, else read now (a `Query` each of the markets,
/// the tax rates, the duty rules and the promotions and a `GetItem` of the
/// exchange rates, together) and kept.
pub async fn setup(app: &App) -> Result<Arc<Setup>, Error> {
    let max_age = Duration::from_secs(app.config.config_cache_secs);
    if let Some(setup) = app.setup_cache.fresh(max_age) {
        return Ok(setup);
    }
    let (markets, rates, tax, duties, promotions) = futures::try_join!(
        super::markets::list_markets(app),
        app.store.get_fx_rates(false),
        app.store.list_tax_rates(),
        app.store.list_duty_rates(),
        app.store.list_promotions()
    )?;
    let setup = Arc::new(Setup {
        markets,
        rates: rates.map_or_else(|| FxRates::none(app.config.store_currency), |stored| stored.rates),
        tax: tax.into_iter().map(|r| (r.country, r.settings)).collect(),
        duties: duties.into_iter().map(|r| (r.country, r.settings)).collect(),
        promotions,
    });
    app.setup_cache.keep(Arc::clone(&setup));
    Ok(setup)
}

/// What a request that names no market, or `country`, is priced at: the
/// default market's prices need no setup while it sells in the base
/// currency (always: its currency cannot change), so a read without
/// `country` costs nothing more.
pub async fn price_list(app: &App, country: Option<&CountryCode>) -> Result<(MarketCode, PriceList), Error> {
    match country {
        None => Ok((
            MarketCode::default_market(),
            PriceList::base(app.config.store_currency),
        )),
        Some(country) => {
            Ok(setup(app)
                .await?
                .market(Some(country), app.config.store_currency, Timestamp::now()))
        }
    }
}
