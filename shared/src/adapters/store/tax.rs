//! Tax rates (`TAXRATES#<CC>` / `TAX`, listed in GSI1 `TAXRATES`) and duty
//! rules (`DUTYRATES#<CC>` / `DUTY`, listed in GSI1 `DUTYRATES`): one item
//! per country an admin set, each replaced whole.

use serde::Serialize;

use super::{GSI1, IndexQuery, Store, item, keys, s};
use crate::foundation::error::Error;
use crate::model::tax::{DutyRates, TaxRates};

impl Store {
    /// Every country's tax rates an admin set (one index partition).
    pub async fn list_tax_rates(&self) -> Result<Vec<TaxRates>, Error> {
        self.list_partition(keys::TAX_RATES).await
    }

    /// Every country's duty rule (one index partition).
    pub async fn list_duty_rates(&self) -> Result<Vec<DutyRates>, Error> {
        self.list_partition(keys::DUTY_RATES).await
    }

    /// Replaces a country's tax rates.
    pub async fn put_tax_rates(&self, rates: &TaxRates) -> Result<(), Error> {
        self.put_listed(
            keys::tax_rates(&rates.country),
            keys::TAX_RATES,
            rates.country.as_str(),
            rates,
        )
        .await
    }

    /// Replaces a country's duty rule.
    pub async fn put_duty_rates(&self, rates: &DutyRates) -> Result<(), Error> {
        self.put_listed(
            keys::duty_rates(&rates.country),
            keys::DUTY_RATES,
            rates.country.as_str(),
            rates,
        )
        .await
    }

    /// Writes `value` at `at`, listed in GSI1 `listing` under `sort`
    /// (unconditionally: the last admin's entry wins, whole).
    async fn put_listed(
        &self,
        at: (String, &'static str),
        listing: &str,
        sort: &str,
        value: &impl Serialize,
    ) -> Result<(), Error> {
        let mut record = item(at, value)?;
        record.insert(GSI1.partition_key.into(), s(listing));
        record.insert(GSI1.sort_key.into(), s(sort));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .send()
            .await?;
        Ok(())
    }

    /// Every item of one GSI1 partition, in its order, a page of 100 at a
    /// time (configuration: few items).
    pub(super) async fn list_partition<T: serde::de::DeserializeOwned>(
        &self,
        partition: &str,
    ) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self
                .query_index(IndexQuery {
                    gsi: &GSI1,
                    partition: partition.to_owned(),
                    below: None,
                    newest_first: false,
                    limit: 100,
                    start,
                })
                .await?;
            for item in items {
                all.push(serde_dynamo::from_item(item)?);
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(all),
            }
        }
    }
}
