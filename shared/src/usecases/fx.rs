//! Exchange rates: admins read, set and drop manual ones; the daily
//! refresh takes the European Central Bank's. Every write is conditional on
//! the version read, and retried on a lost race.

use serde::Serialize;

use crate::adapters::{fx, metrics};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::money::Currency;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Admin;
pub use crate::model::fx::ManualRates;
use crate::model::fx::{FxRates, Refreshed, rebase};

/// The rates as they stand (none yet: an empty map).
pub async fn get_rates(app: &App, _admin: &Admin) -> Result<FxRates, Error> {
    let base = app.config.store_currency;
    Ok(match app.store.get_fx_rates(false).await? {
        Some(stored) if stored.rates.base == base => stored.rates,
        _ => FxRates::none(base),
    })
}

/// Applies `change` to the rates as read (strongly), and writes the result
/// conditional on nothing having changed since; read and tried again when
/// something did. `None` from `change`: nothing to write.
async fn change_rates<T>(
    app: &App,
    mut change: impl FnMut(FxRates) -> Result<(FxRates, T), Error>,
) -> Result<(FxRates, T), Error> {
    let base = app.config.store_currency;
    for attempt in 0..MAX_ATTEMPTS {
        let stored = app.store.get_fx_rates(true).await?;
        let (current, version) = match stored {
            Some(stored) => (stored.rates, stored.version),
            None => (FxRates::none(base), 0),
        };
        let (rates, outcome) = change(current)?;
        if app.store.put_fx_rates(&rates, version).await? {
            return Ok((rates, outcome));
        }
        backoff(attempt).await;
    }
    Err(Error::Unavailable(
        "the exchange rates kept changing while they were written".into(),
    ))
}

/// Sets each named rate as manual (it stays until set again or dropped).
/// The base currency's own rate is 1 and cannot be set.
pub async fn put_rates(app: &App, _admin: &Admin, input: ManualRates) -> Result<FxRates, Error> {
    let base = app.config.store_currency;
    if input.0.contains_key(&base) {
        return Err(Error::invalid(
            &format!("rates.{base}"),
            format!("{base} is the base currency: its rate is 1"),
        ));
    }
    let now = Timestamp::now();
    let (rates, ()) = change_rates(app, |current| {
        let current = if current.base == base {
            current
        } else {
            FxRates::none(base)
        };
        Ok((current.with_manual(&input.0, now), ()))
    })
    .await?;
    Ok(rates)
}

/// Drops `currency`'s manual rate (the refresh may set it again); `404`
/// when it has none.
pub async fn delete_rate(app: &App, _admin: &Admin, currency: Currency) -> Result<(), Error> {
    change_rates(app, |current| {
        current
            .without_manual(currency)
            .map(|rates| (rates, ()))
            .ok_or(Error::NotFound)
    })
    .await?;
    Ok(())
}

/// What a refresh did: the ECB's date and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    pub as_of: Timestamp,
    #[serde(flatten)]
    pub refreshed: Refreshed,
    /// Codes the ECB published that are not currencies in use here.
    pub skipped: Vec<String>,
}

/// Reads the ECB's rates from `FX_RATES_URL`, rebases them to the store's
/// currency and stores them, never over a manual rate and removing none. A
/// failure changes nothing (the last rates stay), counts
/// `FxRefreshFailed` (the alarm's metric) and is the run's error.
pub async fn refresh(app: &App) -> Result<RefreshReport, Error> {
    let result = refresh_once(app).await;
    match &result {
        Ok(report) => {
            metrics::count("FxRatesRefreshed", report.refreshed.updated as u64);
        }
        Err(err) => {
            tracing::error!(error = %err, "the exchange rates were not refreshed; the last ones stay");
            metrics::count("FxRefreshFailed", 1);
        }
    }
    result
}

async fn refresh_once(app: &App) -> Result<RefreshReport, Error> {
    let url = app
        .config
        .fx_rates_url
        .as_deref()
        .ok_or_else(|| Error::internal("FX_RATES_URL is not set"))?;
    let published = fx::fetch_ecb(url).await.map_err(Error::Unavailable)?;
    if !published.is_recent(Timestamp::now()) {
        return Err(Error::Unavailable(format!(
            "the published rates are of {}, older than rates may be used",
            published.as_of
        )));
    }
    let base = app.config.store_currency;
    let rebased = rebase(&published.per_euro, base).map_err(|err| Error::Unavailable(err.to_string()))?;
    let (_, refreshed) = change_rates(app, |current| {
        Ok(current.refreshed(base, &rebased, published.as_of))
    })
    .await?;
    Ok(RefreshReport {
        as_of: published.as_of,
        refreshed,
        skipped: published.skipped,
    })
}
