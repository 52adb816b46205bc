//! Markets: anyone reads them, admins set and delete them. The default
//! market exists from the start: until an admin replaces its settings it
//! is made from `STORE_CURRENCY` and never stored.

use crate::adapters::store::MarketWrite;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::{self, Page};
use crate::foundation::error::Error;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Admin;
use crate::model::markets::{DEFAULT_MARKET, Market, MarketCode, MarketSettings};

/// The default market as it stands: stored once replaced, else initial.
async fn default_market(app: &App) -> Result<Market, Error> {
    let code = MarketCode::parse(DEFAULT_MARKET.into()).map_err(Error::internal)?;
    Ok(match app.store.get_market(&code).await? {
        Some(stored) => stored,
        None => Market::initial_default(app.config.store_currency, Timestamp::from_unix(0)),
    })
}

/// Every market, the default first, then by code.
pub async fn list_markets(app: &App) -> Result<Vec<Market>, Error> {
    let mut markets = app.store.list_markets().await?;
    if !markets.iter().any(|m| m.default) {
        // Never replaced, so never stored: as it starts.
        markets.insert(
            0,
            Market::initial_default(app.config.store_currency, Timestamp::from_unix(0)),
        );
    } else {
        markets.sort_by_key(|m| (!m.default, m.code.clone()));
    }
    Ok(markets)
}

/// One page of [`list_markets`]: `limit` markets after `cursor` (an
/// authenticated cursor naming the last market of the page before). The
/// default market sorts first (its key is empty; codes are not).
pub async fn list_markets_page(app: &App, limit: usize, cursor: Option<&str>) -> Result<Page<Market>, Error> {
    let sort_key = |m: &Market| {
        if m.default {
            String::new()
        } else {
            m.code.as_str().to_owned()
        }
    };
    let all = list_markets(app).await?;
    cursor::page_of(
        app.config.cursor_secret()?,
        "markets",
        all,
        sort_key,
        limit,
        cursor,
    )
}

pub async fn get_market(app: &App, code: &MarketCode) -> Result<Market, Error> {
    if code.is_default() {
        return default_market(app).await;
    }
    app.store.get_market(code).await?.ok_or(Error::NotFound)
}

/// Creates or replaces a market: `true` when it was created. A country
/// another market holds is `409 COUNTRY_IN_OTHER_MARKET`; the default
/// market's currency and countries are refused (`400`).
pub async fn put_market(
    app: &App,
    _admin: &Admin,
    code: MarketCode,
    settings: MarketSettings,
) -> Result<(Market, bool), Error> {
    for attempt in 0..MAX_ATTEMPTS {
        let stored = app.store.get_market(&code).await?;
        let before = match (&stored, code.is_default()) {
            // Never replaced, so never stored: as it starts.
            (None, true) => Some(Market::initial_default(
                app.config.store_currency,
                Timestamp::from_unix(0),
            )),
            _ => stored.clone(),
        };
        let market = Market::replaced(code.clone(), before.as_ref(), settings.clone(), Timestamp::now())
            .map_err(Error::Validation)?;
        match app.store.put_market(&market, stored.as_ref()).await? {
            MarketWrite::Written => return Ok((market, stored.is_none() && !code.is_default())),
            MarketWrite::CountryTaken(country) => {
                let holder = app.store.country_holder(&country).await?;
                match holder.filter(|holder| *holder != code) {
                    Some(holder) => {
                        return Err(Error::CountryInOtherMarket {
                            country: country.as_str().to_owned(),
                            market: holder.as_str().to_owned(),
                        });
                    }
                    // Given up meanwhile: try again.
                    None => backoff(attempt).await,
                }
            }
            MarketWrite::Contended => backoff(attempt).await,
        }
    }
    Err(Error::Unavailable(
        "the market kept changing while it was written".into(),
    ))
}

/// Deletes a market and frees its countries (they fall to the default).
pub async fn delete_market(app: &App, _admin: &Admin, code: &MarketCode) -> Result<(), Error> {
    if code.is_default() {
        return Err(Error::DefaultMarketStays);
    }
    for attempt in 0..MAX_ATTEMPTS {
        let market = app.store.get_market(code).await?.ok_or(Error::NotFound)?;
        if app.store.delete_market(&market).await? {
            return Ok(());
        }
        backoff(attempt).await;
    }
    Err(Error::Unavailable(
        "the market kept changing while it was deleted".into(),
    ))
}
