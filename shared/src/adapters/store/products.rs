//! Product items: what a product is (`PRODUCT#<id>` / `PRODUCT`, listed in
//! the catalogue's indexes) and its counters, each holding part of its
//! stock and of its rating totals, each in a partition of its own
//! (`PRODUCT#<id>#STOCK#<k>` / `STOCK`). Orders and reviews write only the
//! counters, never the product item, so a sale never touches the
//! catalogue's index partitions or the product's own partition.
//!
//! Deleted products keep their items (orders name them) with `deleted_at`
//! set, on the product and every counter, and no index keys, so they drop
//! out of the listings.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, KeysAndAttributes, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::expr::{Changes, Condition, Conditional, Updates, attr};
use super::{
    GSI1, GSI2, Item, PARTITION_KEY, PageQuery, Read, Store, built, item, key, keys, n, put, s, update,
};
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::foundation::input::Update as Patch;
use crate::foundation::money::Money;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::foundation::secret::Secret;
use crate::model::idempotency::Mark;
#[cfg(doc)]
use crate::model::products::plan_stock_change;
use crate::model::products::{
    Category, CounterWrite, LowStock, ProductId, ProductPatch, ProductRecord, ProductState, RatingTotals,
    StockCounter, spread_evenly,
};

/// What a patch's write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patched {
    /// Written, now or by an earlier attempt under the same key.
    Applied,
    /// The product or a counter changed since it was read: nothing written.
    Contended,
}

/// A counter as stored: its units and rating totals, and the product's
/// price and withdrawal, which an order's decrement and a review's rating
/// are conditional on.
#[derive(Debug, Serialize, Deserialize)]
struct CounterItem {
    product_id: ProductId,
    counter: u8,
    stock: i64,
    #[serde(flatten)]
    rating: RatingTotals,
    /// Units its orders hold (added at placement, taken back with the
    /// stock they give back).
    #[serde(default)]
    sold: i64,
    price: Money,
    #[serde(default, skip_serializing_if = "is_zero")]
    prices_rev: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_at: Option<Timestamp>,
    /// The product's, so that the notifier knows from a counter's change
    /// whether its stock is watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_stock_threshold: Option<i64>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A product's items as read, before they are put together.
#[derive(Default)]
struct Parts {
    record: Option<ProductRecord>,
    counters: Vec<StockCounter>,
}

impl Parts {
    fn add(&mut self, item: Item) -> Result<(), Error> {
        match item.get("SK").and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(keys::PRODUCT_SK) => self.record = Some(serde_dynamo::from_item(item)?),
            _ => {
                let counter: CounterItem = serde_dynamo::from_item(item)?;
                self.counters.push(StockCounter {
                    index: counter.counter,
                    stock: counter.stock,
                    rating: counter.rating,
                    sold: counter.sold,
                });
            }
        }
        Ok(())
    }

    fn into_state(mut self) -> Option<ProductState> {
        self.counters.sort_by_key(|c| c.index);
        self.counters.dedup_by_key(|c| c.index);
        Some(ProductState {
            record: self.record?,
            counters: self.counters,
        })
    }
}

/// The product id an item belongs to (every product item carries it).
fn product_of(item: &Item) -> Option<ProductId> {
    let id = item.get("product_id").or_else(|| item.get("id"))?.as_s().ok()?;
    ProductId::parse(id).ok()
}

/// The item is there and not deleted.
pub(super) fn for_sale() -> Condition {
    attr(PARTITION_KEY).exists().and(attr("deleted_at").not_exists())
}

fn counter_item(record: &ProductRecord, counter: u8, stock: i64) -> Result<Item, Error> {
    item(
        keys::stock_counter(&record.id, counter),
        &CounterItem {
            product_id: record.id.clone(),
            counter,
            stock,
            rating: RatingTotals::default(),
            sold: 0,
            price: record.price,
            prices_rev: record.prices_rev,
            deleted_at: record.deleted_at,
            low_stock_threshold: record.low_stock_threshold,
        },
    )
}

/// Explicit prices as stored: a map of currency codes to minor units.
fn prices_value(prices: &crate::model::products::Prices) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::M(
        prices
            .iter()
            .map(|(currency, price)| (currency.as_str().to_owned(), n(price.minor())))
            .collect(),
    )
}

impl Store {
    /// Adds a product to the catalogue with `stock` units in its one counter.
    pub async fn put_product(&self, product: &ProductRecord, stock: i64) -> Result<(), Error> {
        let mut record = item(keys::product(&product.id), product)?;
        let listed = keys::by_time(product.created_at, &product.id);
        record.insert(GSI1.partition_key.into(), s(keys::CATALOG));
        record.insert(GSI1.sort_key.into(), s(listed.clone()));
        record.insert(GSI2.partition_key.into(), s(keys::category(&product.category)));
        record.insert(GSI2.sort_key.into(), s(listed));
        let new = |item| {
            put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .when(attr(PARTITION_KEY).not_exists()))
        };
        let mut items = vec![new(record)?];
        for (counter, units) in (0..).zip(spread_evenly(stock, product.stock_counters)) {
            items.push(new(counter_item(product, counter, units)?)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::internal("a new product id was taken")),
        }
    }

    /// A product for sale, with its stock and rating (eventually consistent:
    /// a product page may lag a write by a moment).
    pub async fn product_for_sale(&self, id: &ProductId) -> Result<Option<ProductState>, Error> {
        Ok(self
            .product_state(id, false)
            .await?
            .filter(|state| state.record.for_sale()))
    }

    /// A product as stored, deleted or not, with its counters: one
    /// `BatchGetItem` of the product and its counter 0, plus one of its
    /// other counters when it has more than one.
    pub async fn product_state(
        &self,
        id: &ProductId,
        consistent: bool,
    ) -> Result<Option<ProductState>, Error> {
        Ok(self
            .products_by_id(std::slice::from_ref(id), consistent)
            .await?
            .remove(id))
    }

    /// Products as stored (deleted ones included) with their counters, by
    /// id: what an order is priced from. One `BatchGetItem` of each product
    /// and its counter 0, and one more for the other counters of products
    /// that have several.
    pub async fn products_by_id(
        &self,
        ids: &[ProductId],
        consistent: bool,
    ) -> Result<HashMap<ProductId, ProductState>, Error> {
        let first: Vec<Item> = ids
            .iter()
            .flat_map(|id| [key(keys::product(id)), key(keys::stock_counter(id, 0))])
            .collect();
        let mut parts: HashMap<ProductId, Parts> = HashMap::new();
        for item in self.batch_get(first, consistent).await? {
            if let Some(id) = product_of(&item) {
                parts.entry(id).or_default().add(item)?;
            }
        }
        let others: Vec<Item> = parts
            .values()
            .filter_map(|p| p.record.as_ref())
            .flat_map(|record| (1..record.stock_counters).map(|c| key(keys::stock_counter(&record.id, c))))
            .collect();
        for item in self.batch_get(others, consistent).await? {
            if let Some(id) = product_of(&item) {
                parts.entry(id).or_default().add(item)?;
            }
        }
        Ok(parts
            .into_iter()
            .filter_map(|(id, p)| Some((id, p.into_state()?)))
            .collect())
    }

    /// Items by key, in `BatchGetItem`s of at most 100 keys (run together),
    /// retrying unprocessed keys.
    pub(super) async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, Error> {
        let chunks = keys
            .chunks(100)
            .map(|chunk| self.batch_get_chunk(chunk.to_vec(), consistent));
        let mut found = Vec::new();
        for chunk in futures::future::join_all(chunks).await {
            found.extend(chunk?);
        }
        Ok(found)
    }

    async fn batch_get_chunk(&self, mut pending: Vec<Item>, consistent: bool) -> Result<Vec<Item>, Error> {
        let mut found = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            if pending.is_empty() {
                return Ok(found);
            }
            if attempt > 0 {
                backoff(attempt).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(Error::internal)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await?;
            found.extend(
                output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(Error::Unavailable(
                "the catalogue is busy: reads were left unprocessed".into(),
            ))
        }
    }

    /// Products for sale, newest first: one page of an index query, and
    /// their stock and rating in one `BatchGetItem` (two past 50 products).
    pub async fn list_products(
        &self,
        secret: &Secret,
        category: Option<&Category>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<ProductState>, Error> {
        let query = match category {
            None => PageQuery {
                gsi: &GSI1,
                partition: keys::CATALOG.to_owned(),
                sort_prefix: None,
                scope: "products".to_owned(),
                limit,
                cursor,
            },
            Some(category) => PageQuery {
                gsi: &GSI2,
                partition: keys::category(category),
                sort_prefix: None,
                scope: format!("products:{}", category.as_str()),
                limit,
                cursor,
            },
        };
        let (items, next_cursor) = self.query_page(secret, query).await?;
        let records: Vec<ProductRecord> = items
            .into_iter()
            .map(serde_dynamo::from_item)
            .collect::<Result<_, _>>()?;
        let wanted: Vec<Item> = records
            .iter()
            .flat_map(|record| (0..record.stock_counters).map(|c| key(keys::stock_counter(&record.id, c))))
            .collect();
        let mut parts: HashMap<ProductId, Parts> = HashMap::new();
        for item in self.batch_get(wanted, false).await? {
            if let Some(id) = product_of(&item) {
                parts.entry(id).or_default().add(item)?;
            }
        }
        let items = records
            .into_iter()
            .filter_map(|record| {
                let mut own = parts.remove(&record.id).unwrap_or_default();
                own.record = Some(record);
                own.into_state().filter(|state| state.record.for_sale())
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// Writes a patch planned from `state` (read strongly): the product's
    /// fields, and its stock through its counters (`writes`, from
    /// [`plan_stock_change`]), in one transaction conditional on what was
    /// read, and under an `Idempotency-Key`, on its `mark` not being applied
    /// yet. One round trip; the caller reads again and retries on
    /// [`Patched::Contended`].
    pub async fn patch_product(
        &self,
        state: &ProductState,
        patch: &ProductPatch,
        writes: &[CounterWrite],
        mark: Option<&Mark>,
        now: Timestamp,
    ) -> Result<Patched, Error> {
        let mut items = self.patch_items(state, patch, writes, now)?;
        if let Some(mark) = mark {
            items.push(self.apply_once(mark, now)?);
        }
        Ok(match self.transact(items).await? {
            Ok(()) => Patched::Applied,
            // The mark's condition is the last: applied by an earlier
            // attempt under the same key.
            Err(codes) if mark.is_some() && codes.last().is_some_and(|c| c == "ConditionalCheckFailed") => {
                Patched::Applied
            }
            Err(codes) => {
                tracing::debug!(?codes, "product patch lost a race");
                Patched::Contended
            }
        })
    }

    /// The transaction of a patch: the product item (its fields, conditional
    /// on it being for sale with the counters read) and each counter written.
    fn patch_items(
        &self,
        state: &ProductState,
        patch: &ProductPatch,
        writes: &[CounterWrite],
        now: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let record = &state.record;
        let counters = patch.stock_counters.unwrap_or(record.stock_counters);
        let mut changes = Changes::new()
            .set("updated_at", s(now.to_string()))
            .set("stock_counters", n(counters))
            .when(for_sale())
            .when(attr("stock_counters").eq(n(record.stock_counters)));
        if let Patch::Set(name) = &patch.name {
            changes = changes.set("name", s(name));
        }
        if let Patch::Set(description) = &patch.description {
            changes = changes.set("description", s(description));
        }
        if let Patch::Set(category) = &patch.category {
            changes = changes
                .set("category", s(category.as_str()))
                .set(GSI2.partition_key, s(keys::category(category)));
        }
        let price = match &patch.price {
            Patch::Set(price) => {
                changes = changes.set("price", n(price.minor()));
                Some(*price)
            }
            _ => None,
        };
        if let Patch::Set(weight) = &patch.weight_grams {
            changes = changes.set("weight_grams", n(*weight));
        }
        if let Patch::Set(category) = &patch.tax_category {
            changes = changes.set("tax_category", s(category.as_str()));
        }
        match &patch.hs_code {
            Patch::Set(code) => changes = changes.set("hs_code", s(code.as_str())),
            Patch::Clear => changes = changes.remove("hs_code"),
            Patch::Keep => {}
        }
        if let Patch::Set(country) = &patch.origin_country {
            changes = changes.set("origin_country", s(country.as_str()));
        }
        let threshold = match patch.low_stock_threshold {
            Patch::Set(threshold) => {
                changes = changes.set("low_stock_threshold", n(threshold));
                Some(Some(threshold))
            }
            Patch::Clear => {
                changes = changes.remove("low_stock_threshold");
                Some(None)
            }
            Patch::Keep => None,
        };
        // New explicit prices: a new revision, which every counter carries
        // as it carries the base price, conditional on the one read.
        let prices_rev = match &patch.prices {
            Patch::Set(prices) => {
                let rev = record.prices_rev + 1;
                changes = changes
                    .set("prices", prices_value(prices))
                    .set("prices_rev", n(rev))
                    .when(match record.prices_rev {
                        0 => attr("prices_rev").not_exists(),
                        read => attr("prices_rev").eq(n(read)),
                    });
                Some(rev)
            }
            _ => None,
        };
        let product = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(&record.id))))
            .changes(changes);
        let mut items = vec![update(product)?];

        // Every counter carries the prices and the threshold; new ones
        // reach each one.
        let mut repriced: Vec<u8> = if price.is_some() || prices_rev.is_some() || threshold.is_some() {
            state.counters.iter().map(|c| c.index).collect()
        } else {
            Vec::new()
        };
        let priced = ProductRecord {
            price: price.unwrap_or(record.price),
            prices_rev: prices_rev.unwrap_or(record.prices_rev),
            low_stock_threshold: threshold.unwrap_or(record.low_stock_threshold),
            ..record.clone()
        };
        let tagged = |changes: Changes| {
            let changes = changes.set("price", n(priced.price.minor()));
            let changes = match priced.prices_rev {
                0 => changes,
                rev => changes.set("prices_rev", n(rev)),
            };
            match priced.low_stock_threshold {
                Some(threshold) => changes.set("low_stock_threshold", n(threshold)),
                None if threshold.is_some() => changes.remove("low_stock_threshold"),
                None => changes,
            }
        };
        for write in writes {
            let item = match *write {
                CounterWrite::Add { counter, units } => {
                    repriced.retain(|c| *c != counter);
                    let mut change = tagged(Changes::new())
                        .add("stock", n(units))
                        .when(attr(PARTITION_KEY).exists());
                    if units < 0 {
                        change = change.when(attr("stock").ge(n(-units)));
                    }
                    self.counter_update(&record.id, counter, change)?
                }
                CounterWrite::Set { counter, from, to } => {
                    repriced.retain(|c| *c != counter);
                    self.counter_update(
                        &record.id,
                        counter,
                        tagged(Changes::new().set("stock", n(to))).when(attr("stock").eq(n(from))),
                    )?
                }
                CounterWrite::Create { counter, stock } => put(Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(counter_item(&priced, counter, stock)?))
                    .when(attr(PARTITION_KEY).not_exists()))?,
            };
            items.push(item);
        }
        for counter in repriced {
            items.push(self.counter_update(
                &record.id,
                counter,
                tagged(Changes::new()).when(attr(PARTITION_KEY).exists()),
            )?);
        }
        Ok(items)
    }

    /// Takes a product off sale: out of the listings, unavailable to new
    /// orders (every counter is marked too), still there for the orders
    /// that hold it.
    pub async fn delete_product(&self, id: &ProductId, now: Timestamp) -> Result<(), Error> {
        let record: ProductRecord = self
            .get_as(keys::product(id), Read::Strong)
            .await?
            .filter(ProductRecord::for_sale)
            .ok_or(Error::NotFound)?;
        let product = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(id))))
            .changes(
                Changes::new()
                    .set("deleted_at", s(now.to_string()))
                    .set("updated_at", s(now.to_string()))
                    .remove(GSI1.partition_key)
                    .remove(GSI1.sort_key)
                    .remove(GSI2.partition_key)
                    .remove(GSI2.sort_key)
                    .when(for_sale())
                    .when(attr("stock_counters").eq(n(record.stock_counters))),
            );
        let mut items = vec![update(product)?];
        for counter in 0..record.stock_counters {
            items.push(
                self.counter_update(
                    id,
                    counter,
                    Changes::new()
                        .set("deleted_at", s(now.to_string()))
                        .when(attr(PARTITION_KEY).exists()),
                )?,
            );
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            // Deleted meanwhile, or its counters changed: gone or try again.
            Err(_) => match self
                .get_as::<ProductRecord, _>(keys::product(id), Read::Strong)
                .await?
            {
                Some(record) if record.for_sale() => Err(Error::Unavailable(
                    "the product changed while it was deleted".into(),
                )),
                _ => Err(Error::NotFound),
            },
        }
    }

    /// The transaction item that returns `units` of a product to one of its
    /// counters (counters are never removed, so it is there).
    pub(super) fn restock_item(
        &self,
        product: &ProductId,
        counter: u8,
        units: u32,
    ) -> Result<TransactWriteItem, Error> {
        self.counter_update(
            product,
            counter,
            Changes::new()
                .add("stock", n(units))
                .add("sold", n(-i64::from(units)))
                .when(attr(PARTITION_KEY).exists()),
        )
    }

    /// The transaction item of `changes` to one of a product's counters.
    fn counter_update(
        &self,
        product: &ProductId,
        counter: u8,
        changes: Changes,
    ) -> Result<TransactWriteItem, Error> {
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::stock_counter(product, counter))))
                .changes(changes),
        )
    }

    /// The transaction item of a review's rating: added to one counter's
    /// totals, conditional on the product being for sale.
    pub(super) fn rating_item(
        &self,
        product: &ProductId,
        counter: u8,
        rating: u8,
    ) -> Result<TransactWriteItem, Error> {
        self.counter_update(
            product,
            counter,
            Changes::new()
                .add("rating_count", n(1))
                .add("rating_sum", n(rating))
                .when(for_sale()),
        )
    }

    /// Records `alert`: the product's stock, read in `state`, fell to its
    /// threshold. One transaction: the product's alert, conditional on no
    /// alert being set, on the alerts counted and the threshold and counters
    /// read, and a check that no counter holds more than was read (so the
    /// stock is still at most what was read; orders taking more meanwhile
    /// do not stop it). `false`: something changed; read again.
    pub async fn raise_low_stock(&self, state: &ProductState, alert: &LowStock) -> Result<bool, Error> {
        let record = &state.record;
        let counted = match alert.alert - 1 {
            0 => attr("low_stock_alerts").not_exists(),
            counted => attr("low_stock_alerts").eq(n(counted)),
        };
        let changes = Changes::new()
            .set("low_stock", serde_dynamo::to_attribute_value(alert)?)
            .set("low_stock_alerts", n(alert.alert))
            .when(for_sale())
            .when(attr("low_stock").not_exists())
            .when(counted)
            .when(attr("low_stock_threshold").eq(n(alert.threshold)))
            .when(attr("stock_counters").eq(n(record.stock_counters)));
        self.low_stock_write(state, changes, |read| attr("stock").le(n(read)))
            .await
    }

    /// Clears alert number `alert`: the product's stock, read in `state`,
    /// is above its threshold again (or it is no longer watched).
    /// Conditional on that alert being the one set, on the threshold read,
    /// and on no counter holding less than was read. `false`: something
    /// changed; read again.
    pub async fn clear_low_stock(&self, state: &ProductState, alert: u32) -> Result<bool, Error> {
        let record = &state.record;
        let threshold = match record.low_stock_threshold {
            Some(threshold) => attr("low_stock_threshold").eq(n(threshold)),
            None => attr("low_stock_threshold").not_exists(),
        };
        let changes = Changes::new()
            .remove("low_stock")
            .when(attr("low_stock").exists())
            .when(attr("low_stock_alerts").eq(n(alert)))
            .when(threshold)
            .when(attr("stock_counters").eq(n(record.stock_counters)));
        self.low_stock_write(state, changes, |read| attr("stock").ge(n(read)))
            .await
    }

    /// The product's alert written with `changes`, with a check of each
    /// counter read in `state` against `bound` of the units read.
    async fn low_stock_write(
        &self,
        state: &ProductState,
        changes: Changes,
        bound: impl Fn(i64) -> Condition,
    ) -> Result<bool, Error> {
        let id = &state.record.id;
        let product = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(id))))
            .changes(changes);
        let mut items = vec![update(product)?];
        for counter in &state.counters {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::stock_counter(id, counter.index))))
                .when(bound(counter.stock));
            items.push(
                TransactWriteItem::builder()
                    .condition_check(built(check.build())?)
                    .build(),
            );
        }
        Ok(self.transact(items).await?.is_ok())
    }

    /// A product as stored (not its counters), eventually consistent.
    pub async fn product_record(&self, id: &ProductId) -> Result<Option<ProductRecord>, Error> {
        self.get_as(keys::product(id), Read::Eventual).await
    }
}
