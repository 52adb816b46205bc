//! Market items (`MARKET#<code>` / `MARKET`, listed in GSI1 `MARKETS`)
//! and the claims that keep a country in one market at most
//! (`COUNTRY#<CC>` / `MARKET`, naming the market): a market and the claims
//! it adds or gives up are written in one transaction.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::expr::{Conditional, attr};
use super::{GSI1, PARTITION_KEY, Read, Store, built, item, key, keys, put, s};
use crate::foundation::error::Error;
use crate::model::markets::{Market, MarketCode};
use crate::model::users::CountryCode;

/// What writing a market came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketWrite {
    Written,
    /// Another market holds this country.
    CountryTaken(CountryCode),
    /// The market changed (or appeared, or went) since it was read.
    Contended,
}

#[derive(Serialize, Deserialize)]
struct Claim {
    market: MarketCode,
}

impl Store {
    pub async fn get_market(&self, code: &MarketCode) -> Result<Option<Market>, Error> {
        self.get_as(keys::market(code), Read::Strong).await
    }

    /// Every stored market, by code (one index partition, a page of 100 at
    /// a time; markets are few).
    pub async fn list_markets(&self) -> Result<Vec<Market>, Error> {
        self.list_partition(keys::MARKETS).await
    }

    /// The market that holds `country`, if one does.
    pub async fn country_holder(&self, country: &CountryCode) -> Result<Option<MarketCode>, Error> {
        Ok(self
            .get_as::<Claim, _>(keys::country_claim(country), Read::Strong)
            .await?
            .map(|claim| claim.market))
    }

    /// Writes `market` over `before` (what was read; `None`: it is new), and
    /// in the same transaction claims the countries it adds and gives up
    /// those it drops. One round trip.
    pub async fn put_market(&self, market: &Market, before: Option<&Market>) -> Result<MarketWrite, Error> {
        let mut record = item(keys::market(&market.code), market)?;
        record.insert(GSI1.partition_key.into(), s(keys::MARKETS));
        record.insert(GSI1.sort_key.into(), s(market.code.as_str()));
        let unchanged = match before {
            None => attr(PARTITION_KEY).not_exists(),
            Some(before) => attr("updated_at").eq(s(before.updated_at.to_string())),
        };
        let mut items = vec![put(Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .when(unchanged))?];
        let held: BTreeSet<&CountryCode> = before
            .map(|b| b.settings.countries.iter().collect())
            .unwrap_or_default();
        let wanted: BTreeSet<&CountryCode> = market.settings.countries.iter().collect();
        let added: Vec<&CountryCode> = wanted.difference(&held).copied().collect();
        for country in &added {
            items.push(self.claim(country, &market.code)?);
        }
        for country in held.difference(&wanted) {
            items.push(self.release(country, &market.code)?);
        }
        Ok(match self.transact(items).await? {
            Ok(()) => MarketWrite::Written,
            Err(codes) => {
                let failed = |i: usize| codes.get(i).is_some_and(|code| code == "ConditionalCheckFailed");
                match added.iter().enumerate().find(|(i, _)| failed(i + 1)) {
                    Some((_, country)) if !failed(0) => MarketWrite::CountryTaken((*country).clone()),
                    _ => MarketWrite::Contended,
                }
            }
        })
    }

    /// Deletes `market` as read, and gives up its countries. `false`: it
    /// changed or went since.
    pub async fn delete_market(&self, market: &Market) -> Result<bool, Error> {
        let mut items = vec![
            TransactWriteItem::builder()
                .delete(built(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(keys::market(&market.code))))
                        .when(attr("updated_at").eq(s(market.updated_at.to_string())))
                        .build(),
                )?)
                .build(),
        ];
        for country in &market.settings.countries {
            items.push(self.release(country, &market.code)?);
        }
        Ok(self.transact(items).await?.is_ok())
    }

    /// Claims `country` for `market` (free, or its own already).
    fn claim(&self, country: &CountryCode, market: &MarketCode) -> Result<TransactWriteItem, Error> {
        let claim = item(
            keys::country_claim(country),
            &Claim {
                market: market.clone(),
            },
        )?;
        put(Put::builder().table_name(&self.table).set_item(Some(claim)).when(
            attr(PARTITION_KEY)
                .not_exists()
                .or(attr("market").eq(s(market.as_str()))),
        ))
    }

    /// Gives `country` up, if `market` holds it.
    fn release(&self, country: &CountryCode, market: &MarketCode) -> Result<TransactWriteItem, Error> {
        Ok(TransactWriteItem::builder()
            .delete(built(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::country_claim(country))))
                    .when(attr("market").eq(s(market.as_str())))
                    .build(),
            )?)
            .build())
    }
}
