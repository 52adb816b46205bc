//! The exchange rates: one item (`FX#RATES` / `FX`) holding every rate,
//! with a version that each write is conditional on (admins and the daily
//! refresh write it; functions read it once a minute at most).

use serde::{Deserialize, Serialize};

use super::expr::attr;
use super::{PARTITION_KEY, Read, Store, item, keys, n};
use crate::foundation::error::Error;
use crate::model::fx::FxRates;

/// The rates as stored, with the version they were written at.
#[derive(Serialize, Deserialize)]
struct RatesItem {
    #[serde(flatten)]
    rates: FxRates,
    version: u64,
}

/// The rates as read, and the version a write over them names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRates {
    pub rates: FxRates,
    /// `0`: none stored yet.
    pub version: u64,
}

impl Store {
    /// The stored rates, if any (one `GetItem`; `consistent` before a
    /// write over them).
    pub async fn get_fx_rates(&self, consistent: bool) -> Result<Option<StoredRates>, Error> {
        let read = if consistent { Read::Strong } else { Read::Eventual };
        Ok(self
            .get_as::<RatesItem, _>(keys::fx_rates(), read)
            .await?
            .map(|stored| StoredRates {
                rates: stored.rates,
                version: stored.version,
            }))
    }

    /// Writes `rates` over what was read at `version` (`0`: nothing yet).
    /// `false`: another write got in between; nothing written.
    pub async fn put_fx_rates(&self, rates: &FxRates, version: u64) -> Result<bool, Error> {
        let record = item(
            keys::fx_rates(),
            &RatesItem {
                rates: rates.clone(),
                version: version + 1,
            },
        )?;
        let unchanged = match version {
            0 => attr(PARTITION_KEY).not_exists(),
            read => attr("version").eq(n(read)),
        };
        self.put_if(record, unchanged).await
    }
}
