//! The catalogue: products, their stock and their rating.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
pub use crate::foundation::ids::ProductId;
use crate::foundation::input::{Errors, FromJson, Object, Update, bounded_text};
use crate::foundation::money::{Amount, Currency, Money};
use crate::foundation::newtype::string_newtype;
use crate::model::markets::{PriceList, PriceSource};
use crate::model::users::CountryCode;

pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;

/// 1..50 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

impl Category {
    pub fn parse(raw: String) -> Result<Self, String> {
        crate::foundation::input::slug(raw, 50).map(Self)
    }
}

string_newtype!(Category);

/// A product's tax category (`standard`, `reduced`, ...): 1..30 characters
/// of `[a-z0-9-]`. Tax rates are set per category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxCategory(String);

impl TaxCategory {
    pub fn parse(raw: String) -> Result<Self, String> {
        crate::foundation::input::slug(raw, 30).map(Self)
    }

    pub fn standard() -> Self {
        Self("standard".into())
    }
}

impl Default for TaxCategory {
    fn default() -> Self {
        Self::standard()
    }
}

string_newtype!(TaxCategory);

/// A Harmonized System code: 6 digits (its first two are the chapter that
/// duty rates are set for).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsCode(String);

impl HsCode {
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw))
        } else {
            Err("must be 6 digits".into())
        }
    }

    /// The HS chapter: the first two digits.
    pub fn chapter(&self) -> &str {
        &self.0[..2]
    }
}

string_newtype!(HsCode);

/// The heaviest a product may be, in grams.
pub const MAX_WEIGHT_GRAMS: u32 = 1_000_000;

fn weight(grams: u32) -> Result<u32, String> {
    if grams <= MAX_WEIGHT_GRAMS {
        Ok(grams)
    } else {
        Err(format!("must be an integer from 0 to {MAX_WEIGHT_GRAMS}"))
    }
}

/// Explicit prices per currency: each key an ISO 4217 code in use, as
/// answered (upper case), each price 1..[`MAX_PRICE`] minor units and a
/// whole number of the currency's smallest amount (tens in KWD).
pub type Prices = BTreeMap<Currency, Money>;

/// The most explicit prices a product may have.
pub const MAX_PRICES: usize = 50;

fn prices(raw: BTreeMap<String, Value>) -> Result<Prices, String> {
    if raw.len() > MAX_PRICES {
        return Err(format!("may hold at most {MAX_PRICES} currencies"));
    }
    raw.into_iter()
        .map(|(code, value)| {
            let currency = Currency::strict(&code)?;
            let minor = value
                .as_i64()
                .filter(|_| value.is_i64() || value.is_u64())
                .ok_or_else(|| format!("{code}: must be an integer (minor units)"))?;
            let money = price(minor).map_err(|err| format!("{code}: {err}"))?;
            Amount::new(minor, currency).map_err(|_| {
                format!(
                    "{code}: must be a multiple of {} minor units, as card networks take it",
                    currency.step()
                )
            })?;
            Ok((currency, money))
        })
        .collect()
}

fn price(minor: i64) -> Result<Money, String> {
    if (1..=MAX_PRICE).contains(&minor) {
        Money::new(minor)
    } else {
        Err(format!("must be an integer from 1 to {MAX_PRICE} (minor units)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rating {
    pub average: Option<f64>,
    pub count: u32,
}

impl Rating {
    pub fn from_totals(count: u32, sum: u32) -> Self {
        Self {
            average: (count > 0).then(|| f64::from(sum) / f64::from(count)),
            count,
        }
    }
}

/// A product as the API shows it, priced in one market: `price` and
/// `currency` are the market's (`price` null when it is not sold there),
/// `base_price` and `base_currency` the catalogue's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Option<Money>,
    pub currency: Currency,
    pub base_price: Money,
    pub base_currency: Currency,
    pub prices: Prices,
    pub weight_grams: u32,
    pub tax_category: TaxCategory,
    pub hs_code: Option<HsCode>,
    pub origin_country: CountryCode,
    pub stock: i64,
    /// How many counters hold its stock (each a partition of its own).
    pub stock_counters: u8,
    /// At or below this stock the shop publishes `product.low_stock`;
    /// `None`: it does not watch this product's stock.
    pub low_stock_threshold: Option<i64>,
    pub rating: Rating,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The most stock counters a product may have.
pub const MAX_STOCK_COUNTERS: u8 = 16;

/// Units of stock per counter the shop spreads a product to by itself.
pub const UNITS_PER_COUNTER: i64 = 25;

/// How many counters a product with `stock` units gets by itself, when it
/// is created and when a restock brings it there: one per
/// [`UNITS_PER_COUNTER`] units, at most [`MAX_STOCK_COUNTERS`]. Stock is
/// what a shop buys for what it expects to sell, so a product stocked for a
/// launch is spread before its first order, without an admin's foresight;
/// each counter is a partition of its own (1,000 WCU/s, about 500 orders a
/// second), and a product page reads each (½ RCU apiece).
pub fn counters_for_stock(stock: i64) -> u8 {
    let wanted = (stock.max(0) + UNITS_PER_COUNTER - 1) / UNITS_PER_COUNTER;
    u8::try_from(wanted.clamp(1, i64::from(MAX_STOCK_COUNTERS))).unwrap_or(MAX_STOCK_COUNTERS)
}

/// A product as stored, deleted ones too (orders name them): what it is.
/// Its stock and rating change with every order and review, so they live in
/// items of their own ([`StockCounter`]s, which also hold rating totals) and a sale never
/// rewrites the product or its place in the catalogue's indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub currency: Currency,
    /// Explicit prices in other currencies than the base.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: Prices,
    #[serde(default)]
    pub weight_grams: u32,
    #[serde(default)]
    pub tax_category: TaxCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hs_code: Option<HsCode>,
    /// Where it is made; `None` (products from before it was kept): the
    /// store's own country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<CountryCode>,
    /// Counts the changes of its explicit prices; every counter carries it,
    /// so an order's decrement is conditional on the prices it was priced
    /// with, as it is on the base `price`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub prices_rev: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// How many counters hold its stock (counter 0 always exists).
    #[serde(default = "one_counter")]
    pub stock_counters: u8,
    /// At or below this stock `product.low_stock` is published; every
    /// counter carries it, so the notifier knows from a counter's change
    /// alone whether the product is watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_stock_threshold: Option<i64>,
    /// Set while its stock is at or below the threshold: the alert that
    /// announced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_stock: Option<LowStock>,
    /// How many times its stock fell to the threshold: the number of the
    /// next alert is one more.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub low_stock_alerts: u32,
}

fn one_counter() -> u8 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ProductRecord {
    /// A new product, for sale, its stock in one counter.
    pub fn new(input: &NewProduct, currency: Currency, store_country: &CountryCode, now: Timestamp) -> Self {
        Self {
            id: ProductId::new(),
            name: input.name.clone(),
            description: input.description.clone(),
            category: input.category.clone(),
            price: input.price,
            currency,
            prices: input.prices.clone(),
            weight_grams: input.weight_grams,
            tax_category: input.tax_category.clone(),
            hs_code: input.hs_code.clone(),
            origin_country: Some(
                input
                    .origin_country
                    .clone()
                    .unwrap_or_else(|| store_country.clone()),
            ),
            prices_rev: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            stock_counters: counters_for_stock(input.stock),
            low_stock_threshold: input.low_stock_threshold,
            low_stock: None,
            low_stock_alerts: 0,
        }
    }

    pub fn for_sale(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// Its unit price in a market selling at `list`: `None` when it is not
    /// sold there (no explicit price and no usable rate).
    pub fn price_in(
        &self,
        list: &PriceList,
    ) -> Option<Result<(Amount, PriceSource), crate::foundation::money::MoneyError>> {
        let base = match self.price.of(self.currency) {
            Ok(base) => base,
            Err(err) => return Some(Err(err)),
        };
        let explicit = self
            .prices
            .get(&list.currency())
            .and_then(|price| price.of(list.currency()).ok());
        list.price(base, explicit)
    }
}

/// One of a product's counters: part of its stock and of its rating
/// totals. Orders take units from one counter and reviews add to one, so a
/// hot product's writes spread over several items; each counter carries the
/// product's price and withdrawal, so that an order's decrement is
/// conditional on exactly what it was priced at. Counters are never
/// removed: an order gives its units back to the counter it took them from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockCounter {
    pub index: u8,
    pub stock: i64,
    pub rating: RatingTotals,
    /// Units its orders hold (placed, not cancelled, expired or given
    /// back): the product's popularity, summed over its counters.
    pub sold: i64,
}

/// Rating totals (the average is derived on read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingTotals {
    #[serde(default)]
    pub rating_count: u32,
    #[serde(default)]
    pub rating_sum: u32,
}

/// A product with its counters: everything it is shown with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductState {
    pub record: ProductRecord,
    /// Every counter, by index.
    pub counters: Vec<StockCounter>,
}

impl ProductState {
    /// Units in stock, over every counter.
    pub fn stock(&self) -> i64 {
        self.counters.iter().map(|c| c.stock).sum()
    }

    /// Units sold, over every counter: what search ranks equal matches by.
    pub fn sold(&self) -> i64 {
        self.counters.iter().map(|c| c.sold).sum()
    }

    /// Rating totals, over every counter.
    pub fn rating(&self) -> RatingTotals {
        self.counters
            .iter()
            .fold(RatingTotals::default(), |sum, c| RatingTotals {
                rating_count: sum.rating_count + c.rating.rating_count,
                rating_sum: sum.rating_sum + c.rating.rating_sum,
            })
    }

    /// The product as the API shows it, priced in the market selling at
    /// `list` (`store_country`: its origin when none was kept).
    pub fn to_product(&self, list: &PriceList, store_country: &CountryCode) -> Product {
        let record = &self.record;
        Product {
            id: record.id.clone(),
            name: record.name.clone(),
            description: record.description.clone(),
            category: record.category.clone(),
            price: record
                .price_in(list)
                .and_then(Result::ok)
                .map(|(price, _)| price.money()),
            currency: list.currency(),
            base_price: record.price,
            base_currency: record.currency,
            prices: record.prices.clone(),
            weight_grams: record.weight_grams,
            tax_category: record.tax_category.clone(),
            hs_code: record.hs_code.clone(),
            origin_country: record
                .origin_country
                .clone()
                .unwrap_or_else(|| store_country.clone()),
            stock: self.stock(),
            stock_counters: record.stock_counters,
            low_stock_threshold: record.low_stock_threshold,
            rating: {
                let totals = self.rating();
                Rating::from_totals(totals.rating_count, totals.rating_sum)
            },
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }

    /// The product as the API shows it, if it is for sale.
    pub fn listed(&self, list: &PriceList, store_country: &CountryCode) -> Option<Product> {
        self.record
            .for_sale()
            .then(|| self.to_product(list, store_country))
    }
}

/// One fall of a product's stock to its threshold: the `product.low_stock`
/// event it is announced by, the `alert`th of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    pub alert: u32,
    /// The stock and threshold when the fall was seen.
    pub stock: i64,
    pub threshold: i64,
    pub at: Timestamp,
}

/// What a product's stock, its threshold and its alert call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowStockStep {
    /// Its stock fell to the threshold and no alert says so yet: record
    /// alert number `alert` (conditional on the stock read), then announce it.
    Raise {
        alert: u32,
    },
    /// Its stock is low and this alert says so: announce it (once; a
    /// second announcement finds it sent).
    Announce(LowStock),
    /// Its stock is above the threshold again (or it is no longer
    /// watched): announce the alert if that is not done yet (a restock can
    /// come before a fall's announcement: the fall is still published,
    /// once), then clear it, so the next fall raises a new one.
    Clear(LowStock),
    Nothing,
}

/// The step a product's stock calls for: an alert once per fall to the
/// threshold (`stock <= threshold`), cleared when a restock or a
/// cancellation lifts it above. Pure: the caller reads the product and
/// all its counters at once and writes the step conditional on them.
pub fn low_stock_step(record: &ProductRecord, stock: i64) -> LowStockStep {
    let low = record
        .low_stock_threshold
        .is_some_and(|threshold| record.for_sale() && stock <= threshold);
    match (low, record.low_stock) {
        (true, None) => LowStockStep::Raise {
            alert: record.low_stock_alerts + 1,
        },
        (true, Some(alert)) => LowStockStep::Announce(alert),
        (false, Some(alert)) => LowStockStep::Clear(alert),
        (false, None) => LowStockStep::Nothing,
    }
}

/// The optional low-stock threshold of a new product or a patch.
fn threshold(n: i64) -> Result<i64, String> {
    if (0..=MAX_STOCK).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be an integer from 0 to {MAX_STOCK}"))
    }
}

/// Where a line's units come from: `quantity` units of counter `counter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub counter: u8,
    pub quantity: u32,
}

/// Which counters `quantity` units come from: one counter that holds them
/// all, chosen among those by `spread` (so that concurrent orders of a hot
/// product land on different items); when no single counter holds them, the
/// fewest counters, fullest first. `None` when the product is short.
pub fn take_units(counters: &[StockCounter], quantity: u32, spread: u64) -> Option<Vec<Take>> {
    let wanted = i64::from(quantity);
    let whole: Vec<&StockCounter> = counters.iter().filter(|c| c.stock >= wanted).collect();
    if !whole.is_empty() {
        let chosen = whole[usize::try_from(spread % whole.len() as u64).unwrap_or(0)];
        return Some(vec![Take {
            counter: chosen.index,
            quantity,
        }]);
    }
    let mut fullest: Vec<&StockCounter> = counters.iter().filter(|c| c.stock > 0).collect();
    fullest.sort_by(|a, b| b.stock.cmp(&a.stock).then(a.index.cmp(&b.index)));
    let mut takes = Vec::new();
    let mut left = wanted;
    for counter in fullest {
        if left == 0 {
            break;
        }
        let take = left.min(counter.stock);
        takes.push(Take {
            counter: counter.index,
            quantity: u32::try_from(take).ok()?,
        });
        left -= take;
    }
    (left == 0).then_some(takes)
}

/// `total` units over `counters` counters, as evenly as can be (the first
/// counters get the remainder).
pub fn spread_evenly(total: i64, counters: u8) -> Vec<i64> {
    let n = i64::from(counters.max(1));
    (0..n).map(|i| total / n + i64::from(i < total % n)).collect()
}

/// A write to one stock counter, as part of changing a product's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterWrite {
    /// Add `units` (negative: take them, if the counter still has them).
    Add { counter: u8, units: i64 },
    /// Move the counter from exactly `from` to `to` units (resharding).
    Set { counter: u8, from: i64, to: i64 },
    /// A new counter holding `stock`.
    Create { counter: u8, stock: i64 },
}

/// Why a change of stock cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChangeError {
    /// A write-off beyond the stock: this many units are there.
    Short { available: i64 },
    /// Counters are never removed (orders give units back to theirs).
    Shrink { counters: u8 },
}

/// How a product's counters change to add `delta` units (a restock, or a
/// write-off when negative) and, with `counters`, to spread the stock over
/// that many counters. A restock adds to every counter evenly and a
/// write-off takes from the first counter that has the units (else from the
/// fullest ones); both are plain adds that commute with
/// concurrent orders. More counters move the units from exactly what was
/// read (the write fails, and is retried, if an order got in between);
/// fewer are refused.
pub fn plan_stock_change(
    current: &[StockCounter],
    delta: i64,
    counters: Option<u8>,
) -> Result<Vec<CounterWrite>, StockChangeError> {
    let total: i64 = current.iter().map(|c| c.stock).sum();
    if total + delta < 0 {
        return Err(StockChangeError::Short { available: total });
    }
    let have = u8::try_from(current.len()).unwrap_or(MAX_STOCK_COUNTERS);
    let want = counters.unwrap_or(have).max(1);
    if want < have {
        return Err(StockChangeError::Shrink { counters: have });
    }
    if want != have {
        let targets = spread_evenly(total + delta, want);
        let mut writes = Vec::new();
        for index in 0..want.max(have) {
            let now = current.iter().find(|c| c.index == index).map(|c| c.stock);
            let target = targets.get(usize::from(index)).copied();
            match (now, target) {
                (Some(from), Some(to)) if from != to => writes.push(CounterWrite::Set {
                    counter: index,
                    from,
                    to,
                }),
                (Some(_), Some(_)) => {}
                (None, Some(stock)) => writes.push(CounterWrite::Create {
                    counter: index,
                    stock,
                }),
                (_, None) => {}
            }
        }
        return Ok(writes);
    }
    if delta >= 0 {
        return Ok(spread_evenly(delta, have)
            .into_iter()
            .zip(current)
            .filter(|(units, _)| *units > 0)
            .map(|(units, counter)| CounterWrite::Add {
                counter: counter.index,
                units,
            })
            .collect());
    }
    let short = StockChangeError::Short { available: total };
    let wanted = u32::try_from(-delta).map_err(|_| short)?;
    let mut takes = take_units(current, wanted, 0).ok_or(short)?;
    takes.sort_by_key(|t| t.counter);
    Ok(takes
        .into_iter()
        .map(|take| CounterWrite::Add {
            counter: take.counter,
            units: -i64::from(take.quantity),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub stock: i64,
    pub prices: Prices,
    pub weight_grams: u32,
    pub tax_category: TaxCategory,
    pub hs_code: Option<HsCode>,
    /// `None`: the store's own country.
    pub origin_country: Option<CountryCode>,
    pub low_stock_threshold: Option<i64>,
}

impl FromJson for NewProduct {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.required("name", |s| bounded_text(s, 1, 200));
        let description = o.optional("description", |s| bounded_text(s, 0, 5000));
        let category = o.required("category", Category::parse);
        let price = o.required("price", price);
        let stock = o.required("stock", |n: i64| {
            if (0..=MAX_STOCK).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from 0 to {MAX_STOCK}"))
            }
        });
        let prices = o.optional("prices", prices);
        let weight_grams = o.optional("weight_grams", weight);
        let tax_category = o.optional("tax_category", TaxCategory::parse);
        let hs_code = o.optional("hs_code", HsCode::parse);
        let origin_country = o.optional("origin_country", CountryCode::strict);
        let low_stock_threshold = o.optional("low_stock_threshold", threshold);
        o.end();
        Some(Self {
            name: name?,
            description: description?.unwrap_or_default(),
            category: category?,
            price: price?,
            stock: stock?,
            prices: prices?.unwrap_or_default(),
            weight_grams: weight_grams?.unwrap_or(0),
            tax_category: tax_category?.unwrap_or_default(),
            hs_code: hs_code?,
            origin_country: origin_country?,
            low_stock_threshold: low_stock_threshold?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub name: Update<String>,
    pub description: Update<String>,
    pub category: Update<Category>,
    pub price: Update<Money>,
    /// Replaces the whole map of explicit prices.
    pub prices: Update<Prices>,
    pub weight_grams: Update<u32>,
    pub tax_category: Update<TaxCategory>,
    /// `Clear`: no HS code any more.
    pub hs_code: Update<HsCode>,
    pub origin_country: Update<CountryCode>,
    /// `Clear`: stop watching its stock.
    pub low_stock_threshold: Update<i64>,
    /// Added to the stock atomically; may not take it below zero.
    pub stock_delta: i64,
    /// Spread the stock over this many counters (1..=16): for a product
    /// expected to sell faster than one item takes writes.
    pub stock_counters: Option<u8>,
}

impl FromJson for ProductPatch {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.patch("name", |s| bounded_text(s, 1, 200));
        let description = o.patch("description", |s| bounded_text(s, 0, 5000));
        let category = o.patch("category", Category::parse);
        let price = o.patch("price", price);
        let prices = o.patch("prices", prices);
        let weight_grams = o.patch("weight_grams", weight);
        let tax_category = o.patch("tax_category", TaxCategory::parse);
        // Null clears it: a product may lose its classification.
        let hs_code = o.nullable("hs_code", HsCode::parse);
        let origin_country = o.patch("origin_country", CountryCode::strict);
        let low_stock_threshold = o.nullable("low_stock_threshold", threshold);
        let stock_delta = o.optional("stock_delta", |n: i64| {
            if (-MAX_STOCK..=MAX_STOCK).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from -{MAX_STOCK} to {MAX_STOCK}"))
            }
        });
        let stock_counters = o.optional("stock_counters", |n: u8| {
            if (1..=MAX_STOCK_COUNTERS).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from 1 to {MAX_STOCK_COUNTERS}"))
            }
        });
        o.end();
        Some(Self {
            name: name?,
            description: description?,
            category: category?,
            price: price?,
            prices: prices?,
            weight_grams: weight_grams?,
            tax_category: tax_category?,
            hs_code: hs_code?,
            origin_country: origin_country?,
            low_stock_threshold: low_stock_threshold?,
            stock_delta: stock_delta?.unwrap_or(0),
            stock_counters: stock_counters?,
        })
    }
}

/// The optional `country` of a catalogue read: whose market prices it.
pub fn parse_country(raw: Option<String>) -> Result<Option<CountryCode>, Error> {
    raw.map(|c| CountryCode::strict(c).map_err(|msg| Error::invalid("country", msg)))
        .transpose()
}

/// The catalogue listing's optional filter.
pub fn parse_category_filter(raw: Option<String>) -> Result<Option<Category>, Error> {
    raw.map(|c| Category::parse(c).map_err(|msg| Error::invalid("category", msg)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;

    #[test]
    fn categories_are_slugs() {
        assert!(Category::parse("home-office-2".into()).is_ok());
        for bad in ["", "Shoes", "a b", "é", &"a".repeat(51)] {
            assert!(Category::parse(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_products_are_bounded() {
        let ok: NewProduct =
            parse_document(json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 0}))
                .expect("valid");
        assert_eq!(ok.description, "");
        let Err(Error::Validation(errors)) = parse_document::<NewProduct>(json!({
            "name": "", "description": "x".repeat(5001), "category": "Kitchen", "price": 0, "stock": 1_000_001, "currency": "EUR"
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "description", "category", "price", "stock", "currency"]
        );
        assert!(
            parse_document::<NewProduct>(json!({"name": "M", "category": "k", "price": 1.5, "stock": 1}))
                .is_err()
        );
        assert!(
            parse_document::<NewProduct>(
                json!({"name": "M", "category": "k", "price": 100_000_001, "stock": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn patches_take_a_stock_delta_not_a_stock() {
        let patch: ProductPatch = parse_document(json!({"stock_delta": -3, "price": 999})).expect("valid");
        assert_eq!(patch.stock_delta, -3);
        assert_eq!(patch.price, Update::Set(Money::new(999).expect("valid")));
        let Err(Error::Validation(errors)) = parse_document::<ProductPatch>(json!({"stock": 5})) else {
            panic!("stock is not patchable")
        };
        assert_eq!(errors[0].field, "stock");
    }

    fn state(stocks: &[i64]) -> ProductState {
        let input: NewProduct =
            parse_document(json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 0}))
                .expect("valid");
        let mut record = ProductRecord::new(
            &input,
            Currency::parse("USD".into()).expect("valid"),
            &CountryCode::parse("US".into()).expect("valid"),
            Timestamp::from_unix(0),
        );
        record.stock_counters = u8::try_from(stocks.len()).expect("few");
        ProductState {
            record,
            counters: stocks
                .iter()
                .enumerate()
                .map(|(i, &stock)| StockCounter {
                    index: u8::try_from(i).expect("few"),
                    stock,
                    rating: RatingTotals {
                        rating_count: u32::from(i == 0) * 2,
                        rating_sum: u32::from(i == 0) * 5 + u32::from(i == 1) * 4,
                    },
                    sold: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_product_shows_its_stock_over_every_counter_and_is_not_listed_once_deleted() {
        let mut product = state(&[3, 4, 0]);
        let usd = PriceList::base(Currency::parse("USD".into()).expect("valid"));
        let us = CountryCode::parse("US".into()).expect("valid");
        let listed = product.listed(&usd, &us).expect("for sale");
        assert_eq!((listed.stock, listed.rating.average), (7, Some(4.5)));
        product.record.deleted_at = Some(Timestamp::from_unix(1));
        assert_eq!(product.listed(&usd, &us), None);
        assert_eq!(product.to_product(&usd, &us).stock, 7);
    }

    #[test]
    fn units_come_from_one_counter_that_has_them_spread_by_the_caller() {
        let product = state(&[5, 1, 5, 5]);
        let chosen: std::collections::BTreeSet<u8> = (0..12)
            .map(|spread| {
                let takes = take_units(&product.counters, 2, spread).expect("enough");
                assert_eq!(takes.len(), 1);
                assert_eq!(takes[0].quantity, 2);
                takes[0].counter
            })
            .collect();
        assert_eq!(
            chosen,
            [0, 2, 3].into(),
            "every counter with enough, none without"
        );
    }

    #[test]
    fn units_no_single_counter_has_come_from_the_fullest_first() {
        let product = state(&[2, 5, 0, 3]);
        assert_eq!(
            take_units(&product.counters, 9, 0),
            Some(vec![
                Take {
                    counter: 1,
                    quantity: 5
                },
                Take {
                    counter: 3,
                    quantity: 3
                },
                Take {
                    counter: 0,
                    quantity: 1
                },
            ])
        );
        assert_eq!(take_units(&product.counters, 11, 0), None, "10 in stock");
        assert_eq!(take_units(&[], 1, 0), None);
    }

    #[test]
    fn restocks_add_evenly_and_write_offs_take_from_counters_that_have_the_units() {
        let product = state(&[5, 1, 0]);
        assert_eq!(
            plan_stock_change(&product.counters, 4, None),
            Ok(vec![
                CounterWrite::Add { counter: 0, units: 2 },
                CounterWrite::Add { counter: 1, units: 1 },
                CounterWrite::Add { counter: 2, units: 1 },
            ])
        );
        assert_eq!(
            plan_stock_change(&product.counters, -4, None),
            Ok(vec![CounterWrite::Add {
                counter: 0,
                units: -4
            }])
        );
        assert_eq!(
            plan_stock_change(&product.counters, -6, None),
            Ok(vec![
                CounterWrite::Add {
                    counter: 0,
                    units: -5
                },
                CounterWrite::Add {
                    counter: 1,
                    units: -1
                },
            ])
        );
        assert_eq!(
            plan_stock_change(&product.counters, -7, None),
            Err(StockChangeError::Short { available: 6 })
        );
        assert_eq!(plan_stock_change(&product.counters, 0, None), Ok(vec![]));
    }

    #[test]
    fn changing_the_number_of_counters_moves_exactly_what_was_read() {
        let product = state(&[7]);
        assert_eq!(
            plan_stock_change(&product.counters, 1, Some(3)),
            Ok(vec![
                CounterWrite::Set {
                    counter: 0,
                    from: 7,
                    to: 3
                },
                CounterWrite::Create { counter: 1, stock: 3 },
                CounterWrite::Create { counter: 2, stock: 2 },
            ])
        );
        let spread = state(&[3, 3, 2]);
        assert_eq!(
            plan_stock_change(&spread.counters, 0, Some(1)),
            Err(StockChangeError::Shrink { counters: 3 }),
            "counters are never removed"
        );
        assert_eq!(
            plan_stock_change(&spread.counters, -9, Some(4)),
            Err(StockChangeError::Short { available: 8 })
        );
    }

    #[test]
    fn stock_spreads_evenly_over_counters() {
        assert_eq!(spread_evenly(10, 4), [3, 3, 2, 2]);
        let counters: Vec<u8> = [0, 1, 25, 26, 200, 399, 400, 10_000]
            .iter()
            .map(|stock| counters_for_stock(*stock))
            .collect();
        assert_eq!(counters, [1, 1, 1, 2, 8, 16, 16, 16]);
        assert_eq!(spread_evenly(2, 4), [1, 1, 0, 0]);
        assert_eq!(spread_evenly(7, 1), [7]);
        assert_eq!(spread_evenly(0, 3), [0, 0, 0]);
    }

    fn watched(threshold: Option<i64>) -> ProductRecord {
        let input: NewProduct =
            parse_document(json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 10}))
                .expect("valid");
        ProductRecord {
            low_stock_threshold: threshold,
            ..ProductRecord::new(
                &input,
                Currency::parse("EUR".into()).expect("valid"),
                &CountryCode::strict("DE".into()).expect("valid"),
                Timestamp::from_unix(0),
            )
        }
    }

    /// Applies `step` as the notifier does: the record's alert state after it.
    fn apply(record: &mut ProductRecord, step: LowStockStep, stock: i64) {
        match step {
            LowStockStep::Raise { alert } => {
                record.low_stock = Some(LowStock {
                    alert,
                    stock,
                    threshold: record.low_stock_threshold.expect("watched"),
                    at: Timestamp::from_unix(0),
                });
                record.low_stock_alerts = alert;
            }
            LowStockStep::Clear(_) => record.low_stock = None,
            LowStockStep::Announce(_) | LowStockStep::Nothing => {}
        }
    }

    #[test]
    fn stock_falling_to_its_threshold_raises_one_alert_until_it_recovers() {
        let mut record = watched(Some(5));
        assert_eq!(low_stock_step(&record, 6), LowStockStep::Nothing);
        let raise = low_stock_step(&record, 5);
        assert_eq!(raise, LowStockStep::Raise { alert: 1 }, "at the threshold is low");
        apply(&mut record, raise, 5);
        let alert = record.low_stock.expect("raised");
        assert_eq!(low_stock_step(&record, 2), LowStockStep::Announce(alert));
        assert_eq!(low_stock_step(&record, 0), LowStockStep::Announce(alert));
        let clear = low_stock_step(&record, 40);
        assert_eq!(
            clear,
            LowStockStep::Clear(alert),
            "announced (once) before it clears"
        );
        apply(&mut record, clear, 40);
        assert_eq!(
            low_stock_step(&record, 1),
            LowStockStep::Raise { alert: 2 },
            "a second fall is a second alert"
        );
        // No threshold (or a deleted product): nothing raised, an alert cleared.
        assert_eq!(low_stock_step(&watched(None), 0), LowStockStep::Nothing);
        apply(&mut record, LowStockStep::Raise { alert: 2 }, 1);
        let second = record.low_stock.expect("raised");
        record.low_stock_threshold = None;
        assert_eq!(low_stock_step(&record, 1), LowStockStep::Clear(second));
        let mut deleted = watched(Some(5));
        deleted.deleted_at = Some(Timestamp::from_unix(1));
        assert_eq!(low_stock_step(&deleted, 0), LowStockStep::Nothing);
    }

    /// Over random walks of stock (orders, cancellations, restocks), the
    /// alerts raised are exactly the falls from above the threshold to it
    /// or below, numbered 1, 2, ...; and whenever the stock is low, an
    /// alert says so.
    #[test]
    fn random_stock_walks_raise_one_alert_per_fall() {
        let mut rng = fastrand::Rng::with_seed(2028);
        for _ in 0..500 {
            let threshold = rng.i64(0..20);
            let mut record = watched(Some(threshold));
            let mut stock = rng.i64(0..60);
            let mut falls = u32::from(stock <= threshold);
            let mut raised = Vec::new();
            for _ in 0..rng.usize(1..60) {
                let before = stock;
                // Some changes are seen twice (a redelivered record) or
                // not at all (a later change's reading covers it).
                let step = low_stock_step(&record, stock);
                if let LowStockStep::Raise { alert } = step {
                    raised.push(alert);
                }
                apply(&mut record, step, stock);
                assert_eq!(record.low_stock.is_some(), stock <= threshold);
                stock = (stock + rng.i64(-8..6)).max(0);
                if before > threshold && stock <= threshold {
                    falls += 1;
                }
            }
            let step = low_stock_step(&record, stock);
            if let LowStockStep::Raise { alert } = step {
                raised.push(alert);
            }
            let expected: Vec<u32> = (1..=falls).collect();
            assert_eq!(raised, expected, "threshold {threshold}");
        }
    }

    #[test]
    fn thresholds_are_stock_counts_and_clear_with_null() {
        let created: NewProduct = parse_document(
            json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 3, "low_stock_threshold": 5}),
        )
        .expect("valid");
        assert_eq!(created.low_stock_threshold, Some(5));
        let cleared: ProductPatch = parse_document(json!({"low_stock_threshold": null})).expect("valid");
        assert_eq!(cleared.low_stock_threshold, Update::Clear);
        for bad in [json!(-1), json!(1_000_001), json!("5"), json!(2.5)] {
            assert!(
                parse_document::<ProductPatch>(json!({"low_stock_threshold": bad})).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn ratings_average_exactly() {
        assert_eq!(Rating::from_totals(0, 0).average, None);
        assert_eq!(Rating::from_totals(3, 13).average, Some(13.0 / 3.0));
    }
}
