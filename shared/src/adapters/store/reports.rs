//! Sales figures, kept from the table's stream by the indexer: per day and
//! currency over [`keys::SALES_SHARDS`] partitions (an order's changes all
//! land in the shard of its id), each change added once under a mark of
//! its own; and the days that have orders, which the admins' order search
//! walks.

use aws_sdk_dynamodb::types::{Put, Update};
use serde::Deserialize;

use super::expr::{Changes, Conditional, Keyed, Updates, attr};
use super::{PARTITION_KEY, SORT_KEY, Store, TTL_ATTRIBUTE, key, keys, n, put, s, update};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::foundation::money::Currency;
use crate::model::reports::{Day, Delta, FIELDS, Figures};

/// How long the mark of a change added is kept: past the stream's 24
/// hours, so no redelivery finds it gone.
const APPLIED_KEPT_SECS: i64 = 7 * 24 * 3600;

#[derive(Deserialize)]
struct SalesItem {
    day: Day,
    currency: Currency,
    #[serde(flatten)]
    figures: Figures,
}

impl Store {
    /// Adds change `seq` of `order` to the figures, once: one transaction
    /// of its mark (put if absent) and an `ADD` to each (day, currency)
    /// it touches in the order's shard. `false`: added before (a replayed
    /// or duplicated record); nothing written.
    pub async fn add_sales(
        &self,
        order: &OrderId,
        seq: u64,
        deltas: &[Delta],
        now: Timestamp,
    ) -> Result<bool, Error> {
        let mut merged: Vec<Delta> = Vec::new();
        for delta in deltas {
            match merged
                .iter_mut()
                .find(|m| m.day == delta.day && m.currency == delta.currency)
            {
                Some(same) => same.figures.add(&delta.figures),
                None => merged.push(delta.clone()),
            }
        }
        if merged.is_empty() {
            return Ok(false);
        }
        let mut mark = key(keys::sales_applied(order, seq));
        mark.insert(TTL_ATTRIBUTE.into(), n(now.unix() + APPLIED_KEPT_SECS));
        let mut items = vec![put(Put::builder()
            .table_name(&self.table)
            .set_item(Some(mark))
            .when(attr(PARTITION_KEY).not_exists()))?];
        for delta in &merged {
            let mut changes = Changes::new()
                .set("day", s(delta.day.to_string()))
                .set("currency", s(delta.currency.as_str()));
            for (field, value) in FIELDS.iter().zip(delta.figures.values()) {
                if value != 0 {
                    changes = changes.add(field, n(value));
                }
            }
            items.push(update(
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::sales(order, delta.day, delta.currency))))
                    .changes(changes),
            )?);
        }
        Ok(self.transact(items).await?.is_ok())
    }

    /// Every (day, currency)'s figures from `from` to `to` (both
    /// included), per shard: one `Query` of each shard, run together.
    pub async fn sales(&self, from: Day, to: Day) -> Result<Vec<(Day, Currency, Figures)>, Error> {
        let shards = (0..keys::SALES_SHARDS).map(|shard| self.sales_shard(shard, from, to));
        let mut all = Vec::new();
        for shard in futures::future::try_join_all(shards).await? {
            all.extend(shard);
        }
        Ok(all)
    }

    async fn sales_shard(
        &self,
        shard: u32,
        from: Day,
        to: Day,
    ) -> Result<Vec<(Day, Currency, Figures)>, Error> {
        let mut rows = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .keys(
                    attr(PARTITION_KEY)
                        .eq(s(keys::sales_shard(shard)))
                        .and(attr(SORT_KEY).between(s(format!("{from}#")), s(format!("{to}#~")))),
                )
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let row: SalesItem = serde_dynamo::from_item(item)?;
                rows.push((row.day, row.currency, row.figures));
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(rows),
            }
        }
    }

    /// Notes that orders were placed on `day` (a put of the same item
    /// again is harmless).
    pub async fn note_order_day(&self, day: Day) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key(keys::order_day(day))))
            .send()
            .await?;
        Ok(())
    }

    /// The days from `from` to `to` (both included) that have orders,
    /// newest first, at most `limit`.
    pub async fn order_days(&self, from: Day, to: Day, limit: usize) -> Result<Vec<Day>, Error> {
        let (partition, _) = keys::order_day(from);
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .keys(
                attr(PARTITION_KEY)
                    .eq(s(partition))
                    .and(attr(SORT_KEY).between(s(from.to_string()), s(to.to_string()))),
            )
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await?;
        page.items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| item.get(SORT_KEY)?.as_s().ok())
            .map(|day| Day::parse(day).map_err(Error::internal))
            .collect()
    }
}
