//! The table at the end of a run, read whole (a consistent `Scan`: a test
//! tool's privilege), as the invariants need it.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::BoxError;

pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

/// The items the invariants read, as JSON.
#[derive(Default)]
pub struct Snapshot {
    pub orders: BTreeMap<String, Value>,
    pub payments: BTreeMap<String, Value>,
    pub shipments: BTreeSet<String>,
    /// Product → (stock, rating count, rating sum) over its counters.
    pub counters: BTreeMap<String, (i64, u64, u64)>,
    /// Product → (reviews, rating sum).
    pub reviews: BTreeMap<String, (u64, u64)>,
    /// User → their count of unpaid orders (the hoarding limit's).
    pub unpaid: BTreeMap<String, i64>,
    /// Promotion → its item.
    pub promotions: BTreeMap<String, Value>,
    /// Promotion → (Σ `used`, the lowest `left`) over its use counters.
    pub promotion_uses: BTreeMap<String, (i64, i64)>,
    /// (promotion, user) → that customer's count of uses.
    pub customer_uses: BTreeMap<(String, String), i64>,
    /// (channel, event id) → the notifier's claim.
    pub claims: BTreeMap<(String, String), Value>,
    /// Product → its item (what it is, its threshold and low-stock alert).
    pub products: BTreeMap<String, Value>,
    /// Currency → the sales figures over every day and shard, in
    /// `shared::model::reports::FIELDS`' order.
    pub sales: BTreeMap<String, [i64; 11]>,
    pub now: i64,
}

impl Table {
    pub async fn connect(endpoint: &str, name: &str) -> Self {
        let aws = shared::adapters::aws_defaults()
            .expect("an HTTPS client")
            .endpoint_url(endpoint)
            .load()
            .await;
        Self {
            client: aws_sdk_dynamodb::Client::new(&aws),
            name: name.to_owned(),
        }
    }

    pub async fn snapshot(&self) -> Result<Snapshot, BoxError> {
        let mut snapshot = Snapshot {
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
            ..Snapshot::default()
        };
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => String::new(),
                };
                let (pk, sk) = (text("PK"), text("SK"));
                let value: Value = serde_dynamo::from_item(item.clone())?;
                let number = |name: &str| value[name].as_i64().unwrap_or(0);
                if let Some(order) = pk.strip_prefix("ORDER#") {
                    match sk.as_str() {
                        "ORDER" => drop(snapshot.orders.insert(order.to_owned(), value)),
                        "PAYMENT" => drop(snapshot.payments.insert(order.to_owned(), value)),
                        "SHIPMENT" => drop(snapshot.shipments.insert(order.to_owned())),
                        _ => {}
                    }
                } else if pk.starts_with("SALES#") {
                    let currency = value["currency"].as_str().unwrap_or_default().to_owned();
                    let sums = snapshot.sales.entry(currency).or_default();
                    for (sum, field) in sums.iter_mut().zip(shared::model::reports::FIELDS) {
                        *sum += number(field);
                    }
                } else if sk == "PRODUCT" {
                    let product = pk.trim_start_matches("PRODUCT#").to_owned();
                    snapshot.products.insert(product, value);
                } else if sk == "STOCK" {
                    let product = value["product_id"].as_str().unwrap_or_default().to_owned();
                    let entry = snapshot.counters.entry(product).or_default();
                    entry.0 += number("stock");
                    entry.1 += u64::try_from(number("rating_count")).unwrap_or(0);
                    entry.2 += u64::try_from(number("rating_sum")).unwrap_or(0);
                } else if let Some(rest) = pk.strip_prefix("PROMOTION#") {
                    match (
                        rest.split_once("#USES#"),
                        rest.split_once("#CUSTOMER#"),
                        sk.as_str(),
                    ) {
                        (Some((promotion, _)), _, "USES") => {
                            let entry = snapshot
                                .promotion_uses
                                .entry(promotion.to_owned())
                                .or_insert((0, i64::MAX));
                            entry.0 += number("used");
                            entry.1 = entry.1.min(number("left"));
                        }
                        (_, Some((promotion, user)), "USES") => {
                            snapshot
                                .customer_uses
                                .insert((promotion.to_owned(), user.to_owned()), number("uses"));
                        }
                        (None, None, "PROMOTION") => drop(snapshot.promotions.insert(rest.to_owned(), value)),
                        _ => {}
                    }
                } else if let Some(rest) = pk.strip_prefix("NOTIFY#")
                    && sk == "CLAIM"
                    && let Some((channel, event)) = rest.split_once('#')
                {
                    snapshot
                        .claims
                        .insert((channel.to_owned(), event.to_owned()), value);
                } else if sk == "UNPAID" {
                    let user = pk.trim_start_matches("USER#").to_owned();
                    snapshot.unpaid.insert(user, number("unpaid"));
                } else if sk == "REVIEW" {
                    let product = value["product_id"].as_str().unwrap_or_default().to_owned();
                    let entry = snapshot.reviews.entry(product).or_default();
                    entry.0 += 1;
                    entry.1 += u64::try_from(number("rating")).unwrap_or(0);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(snapshot)
    }
}

pub fn status(order: &Value) -> &str {
    order["status"].as_str().unwrap_or_default()
}

fn epoch(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

impl Snapshot {
    pub fn by_status(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for order in self.orders.values() {
            *counts.entry(status(order)).or_default() += 1;
        }
        counts
    }

    /// Orders still owed work: paid but not shipped, refunds in flight
    /// (not refused), unpaid past their expiry (with a minute's grace for
    /// the schedule).
    pub fn unsettled(&self) -> usize {
        self.orders
            .iter()
            .filter(|(id, order)| self.stuck(id, order).is_some())
            .count()
    }

    pub fn stuck(&self, id: &str, order: &Value) -> Option<&'static str> {
        let payment = self.payments.get(id);
        match status(order) {
            "PAID" => Some("PAID, never shipped"),
            "REFUND_PENDING" if payment.is_none_or(|p| p["refund_error"].is_null()) => {
                Some("REFUND_PENDING with no refund in flight")
            }
            "PENDING_PAYMENT" if epoch(&order["expires_at"]).is_some_and(|at| at + 60 < self.now) => {
                Some("PENDING_PAYMENT past its expiry")
            }
            _ => None,
        }
    }

    /// The sales figures the orders call for, per currency, summed over
    /// every day (`FIELDS`' order; `cancelled` holds cancelled and expired
    /// together, `expired` 0: the orders as they end do not tell which):
    /// every order placed; those with a payment paid, with their totals;
    /// those refunded with their total repaid; those ever cancelled (still
    /// cancelled, or paid after it).
    pub fn sales_owed(&self) -> BTreeMap<String, [i64; 11]> {
        let mut owed: BTreeMap<String, [i64; 11]> = BTreeMap::new();
        for (id, order) in &self.orders {
            let number = |name: &str| order[name].as_i64().unwrap_or(0);
            let currency = order["currency"].as_str().unwrap_or_default().to_owned();
            let f = owed.entry(currency).or_default();
            f[0] += 1;
            if !order["paid_at"].is_null() {
                f[1] += 1;
                f[5] += number("total");
                f[6] += number("discount_total");
                f[7] += number("shipping");
                f[8] += number("tax_total");
                f[9] += number("duties");
            }
            let late = self
                .payments
                .get(id)
                .is_some_and(|p| p["paid_late"].as_bool() == Some(true));
            if status(order) == "CANCELLED" || late {
                f[2] += 1;
            }
            if status(order) == "REFUNDED" {
                f[4] += 1;
                f[10] += number("total");
            }
        }
        owed
    }

    /// Where the stored sales figures differ from what the orders call
    /// for, per currency and figure. Empty once the indexer is through.
    pub fn sales_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        let owed = self.sales_owed();
        let currencies: BTreeSet<&String> = owed.keys().chain(self.sales.keys()).collect();
        for currency in currencies {
            let want = owed.get(currency).copied().unwrap_or_default();
            let mut have = self.sales.get(currency).copied().unwrap_or_default();
            have[2] += have[3];
            have[3] = 0;
            for (i, field) in shared::model::reports::FIELDS.iter().enumerate() {
                if want[i] != have[i] {
                    let field = if i == 2 { "cancelled + expired" } else { field };
                    gaps.push(format!(
                        "{currency} {field}: the report says {}, the orders {}",
                        have[i], want[i]
                    ));
                }
            }
        }
        gaps
    }

    /// What the low-stock alerts of watched products still lack, by
    /// product: an alert set while the stock is above the threshold (or
    /// none while at or below it), or an alert (1..=`low_stock_alerts`)
    /// whose publication is not done. Empty once the notifier is through.
    pub fn low_stock_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        for (id, product) in &self.products {
            let Some(threshold) = product["low_stock_threshold"].as_i64() else {
                continue;
            };
            if !product["deleted_at"].is_null() {
                continue;
            }
            let stock = self.counters.get(id).map_or(0, |c| c.0);
            let alerted = !product["low_stock"].is_null();
            if alerted != (stock <= threshold) {
                gaps.push(format!(
                    "product {id}: stock {stock}, threshold {threshold}, alert set: {alerted}"
                ));
            }
            let alerts = product["low_stock_alerts"].as_u64().unwrap_or(0);
            for alert in 1..=alerts {
                let event = format!("product-{id}-low-stock-{alert}");
                let done = self
                    .claims
                    .get(&("bus".to_owned(), event.clone()))
                    .is_some_and(|claim| claim["state"] == "done");
                if !done {
                    gaps.push(format!("{event}: not published"));
                }
            }
        }
        gaps
    }

    /// Units an order holds: reserved, sold, or (refunded without restock)
    /// gone with the customer.
    pub fn held(&self, id: &str, order: &Value) -> i64 {
        let units: i64 = order["items"]
            .as_array()
            .map(|lines| lines.iter().map(|l| l["quantity"].as_i64().unwrap_or(0)).sum())
            .unwrap_or(0);
        let payment = self.payments.get(id);
        let late = payment.is_some_and(|p| p["paid_late"].as_bool() == Some(true));
        let restocks = payment.is_some_and(|p| p["refund_restock"].as_bool() == Some(true));
        match status(order) {
            "CANCELLED" => 0,
            "REFUND_PENDING" | "REFUNDED" if late => 0,
            "REFUNDED" if restocks => 0,
            _ => units,
        }
    }
}
