//! The back office's reads: orders by day over the shards of GSI3 (keys,
//! status and market only; the page's orders are then read by key), a
//! customer's orders in a range (GSI1), and every customer over the
//! shards of GSI3.

use std::collections::HashMap;

use super::expr::{Condition, Keyed, attr};
use super::orders::order;
use super::{GSI1, GSI3, Item, Store, key, keys, s};
use crate::foundation::error::Error;
use crate::foundation::ids::{OrderId, UserId};
use crate::foundation::status::OrderStatus;
use crate::model::markets::MarketCode;
use crate::model::orders::Order;
use crate::model::reports::Day;
use crate::model::users::Account;

/// What an order search filters on besides its keys.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub market: Option<MarketCode>,
}

impl OrderFilter {
    fn condition(&self) -> Option<Condition> {
        let status = self.status.map(|st| attr("status").eq(s(st.as_str())));
        let market = self.market.as_ref().map(|m| attr("market").eq(s(m.as_str())));
        match (status, market) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Store {
    /// Up to `limit` of one index partition's items whose sort key is in
    /// `[lower, upper)`, newest first, that pass `filter`: pages read until
    /// that many passed or the range is done. `(sort key, item)`.
    #[allow(clippy::too_many_arguments)]
    async fn newest_in(
        &self,
        index: &str,
        partition: (&str, String),
        sort_key: &str,
        (lower, upper): (&str, &str),
        filter: Option<Condition>,
        limit: usize,
    ) -> Result<Vec<(String, Item)>, Error> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .keys_where(
                    attr(partition.0)
                        .eq(s(partition.1.clone()))
                        .and(if lower.is_empty() {
                            attr(sort_key).lt(s(upper))
                        } else {
                            attr(sort_key).between(s(lower), s(upper))
                        }),
                    filter.clone(),
                )
                .scan_index_forward(false)
                .limit(i32::try_from(limit.max(10)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let Some(sk) = item.get(sort_key).and_then(|v| v.as_s().ok()).cloned() else {
                    continue;
                };
                // `upper` itself is the last key a page answered.
                if sk.as_str() < upper {
                    found.push((sk, item));
                }
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() && found.len() < limit => start = Some(next),
                _ => {
                    found.truncate(limit);
                    return Ok(found);
                }
            }
        }
    }

    /// The newest `limit` orders created on `day` whose index key is in
    /// `[lower, upper)` and that pass `filter`: one query (or more, when
    /// the filter passes few) of each of the day's shards, at once,
    /// merged. `(index key, order id)`.
    pub async fn search_orders_on(
        &self,
        day: Day,
        (lower, upper): (&str, &str),
        filter: &OrderFilter,
        limit: usize,
    ) -> Result<Vec<(String, OrderId)>, Error> {
        let shards = (0..keys::ORDER_SEARCH_SHARDS).map(|shard| {
            self.newest_in(
                GSI3.name,
                (GSI3.partition_key, keys::order_search_shard(day, shard)),
                GSI3.sort_key,
                (lower, upper),
                filter.condition(),
                limit,
            )
        });
        let mut found = Vec::new();
        for shard in futures::future::try_join_all(shards).await? {
            for (sk, _) in shard {
                let id = sk.rsplit('#').next().and_then(|id| OrderId::parse(id).ok());
                if let Some(id) = id {
                    found.push((sk, id));
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(limit);
        Ok(found)
    }

    /// Orders by id, in the order asked (one `BatchGetItem` per 100,
    /// eventually consistent); those not found are left out.
    pub async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, Error> {
        let keys: Vec<Item> = ids.iter().map(|id| key(keys::order(id))).collect();
        let mut by_id: HashMap<OrderId, Order> = HashMap::new();
        for item in self.batch_get(keys, false).await? {
            let order = order(item)?;
            by_id.insert(order.id.clone(), order);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// The newest `limit` of a customer's orders whose key
    /// (`<created_at>#<id>`) is in `[lower, upper)` and that pass `filter`,
    /// from GSI1 (which holds whole orders; its keys are prefixed
    /// `ORDER#`, which this adds and strips).
    pub async fn customer_orders_between(
        &self,
        user: &UserId,
        (lower, upper): (&str, &str),
        filter: &OrderFilter,
        limit: usize,
    ) -> Result<Vec<(String, Order)>, Error> {
        let prefix = keys::ORDER_PREFIX;
        let found = self
            .newest_in(
                GSI1.name,
                (GSI1.partition_key, keys::user_orders(user)),
                GSI1.sort_key,
                (&format!("{prefix}{lower}"), &format!("{prefix}{upper}")),
                filter.condition(),
                limit,
            )
            .await?;
        found
            .into_iter()
            .map(|(sk, item)| Ok((sk.trim_start_matches(prefix).to_owned(), order(item)?)))
            .collect()
    }

    /// The newest `limit` accounts whose index key is below `upper`, over
    /// every shard at once, merged. `(index key, user id)`.
    pub async fn customers_before(&self, upper: &str, limit: usize) -> Result<Vec<(String, UserId)>, Error> {
        let shards = (0..keys::CUSTOMER_SHARDS).map(|shard| {
            self.newest_in(
                GSI3.name,
                (GSI3.partition_key, keys::customers_shard(shard)),
                GSI3.sort_key,
                ("", upper),
                None,
                limit,
            )
        });
        let mut found = Vec::new();
        for shard in futures::future::try_join_all(shards).await? {
            for (sk, _) in shard {
                if let Some(id) = sk.rsplit('#').next().and_then(|id| UserId::parse(id).ok()) {
                    found.push((sk, id));
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(limit);
        Ok(found)
    }

    /// Accounts by id, in the order asked (one `BatchGetItem` per 100).
    pub async fn accounts_by_id(&self, ids: &[UserId]) -> Result<Vec<Account>, Error> {
        let keys: Vec<Item> = ids.iter().map(|id| key(keys::user(id))).collect();
        let mut by_id: HashMap<UserId, Account> = HashMap::new();
        for item in self.batch_get(keys, false).await? {
            let account: Account = serde_dynamo::from_item(item)?;
            by_id.insert(account.user.id.clone(), account);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}
