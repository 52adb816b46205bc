//! The invariants `make chaos` checks once the stack has settled, one
//! function each, over what the run saw (the table, the provider's ledger,
//! the workload's book, the clients' answers).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use stress::provider::Ledger;

use super::outbox::Owed;
use super::snapshot::{Snapshot, status};
use super::workload::Book;
use crate::client::Seen;

/// One invariant: how many things it checked, and what broke it.
pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub failures: Vec<String>,
}

/// What the invariants are checked against.
pub struct Evidence<'a> {
    pub snapshot: &'a Snapshot,
    pub ledger: &'a Ledger,
    pub book: &'a Book,
    /// Product → its stock when the run began.
    pub initial: &'a BTreeMap<String, i64>,
    pub seen: &'a Seen,
    pub sent: &'a Sent<'a>,
}

/// What the notifier owed (every order change with a notice, from the
/// table's stream) and what left: the emulator's SES list, and the events
/// the bus delivered to the run's queue.
pub struct Sent<'a> {
    pub owed: &'a BTreeMap<String, Owed>,
    pub emails: &'a [Value],
    pub events: &'a [Value],
    pub reads_events: bool,
}

/// Every invariant, in the report's order.
pub fn check(e: &Evidence) -> Vec<Check> {
    vec![
        stock_is_conserved(e),
        money_is_kept_or_refunded_once(e),
        totals_follow_their_figures(e),
        captures_charge_the_total(e),
        shipments_match_orders(e),
        one_order_per_key(e),
        ratings_match_reviews(e),
        unpaid_counts_match(e),
        promotion_uses_match_orders(e),
        customers_within_their_limits(e),
        nothing_is_stuck(e),
        clients_saw_the_contract(e),
        every_change_is_emailed_and_published_once(e),
        every_fall_to_low_stock_is_published_once(e),
        the_sales_report_sums_the_orders(e),
    ]
}

/// Stock: initial + restocks = stock now + units held by orders.
fn stock_is_conserved(e: &Evidence) -> Check {
    let mut held: BTreeMap<&str, i64> = BTreeMap::new();
    for (id, order) in &e.snapshot.orders {
        for line in order["items"].as_array().cloned().unwrap_or_default() {
            let product = line["product_id"].as_str().unwrap_or_default();
            if let Some((known, _)) = e.initial.get_key_value(product) {
                let share = if e.snapshot.held(id, order) > 0 {
                    line["quantity"].as_i64().unwrap_or(0)
                } else {
                    0
                };
                *held.entry(known.as_str()).or_default() += share;
            }
        }
    }
    let mut failures = Vec::new();
    for (product, start) in e.initial {
        let restocked = e.book.restocked.get(product).copied().unwrap_or(0);
        let now = e.snapshot.counters.get(product).map_or(0, |c| c.0);
        let holding = held.get(product.as_str()).copied().unwrap_or(0);
        if start + restocked != now + holding {
            failures.push(format!(
                "product {product}: {start} + {restocked} restocked ≠ {now} in stock + {holding} held"
            ));
        }
    }
    if e.book.restocks_unknown > 0 {
        failures.push(format!("{} restocks never answered", e.book.restocks_unknown));
    }
    Check {
        name: "stock conservation per product",
        checked: e.initial.len(),
        failures,
    }
}

/// Money: each capture of the shop's belongs to a paid order, or was
/// refunded once; a capture the shop never made is never refunded.
fn money_is_kept_or_refunded_once(e: &Evidence) -> Check {
    let mut failures = Vec::new();
    let by_intent: HashMap<&str, (&String, &Value)> = e
        .snapshot
        .payments
        .iter()
        .filter_map(|(order, p)| Some((p["provider_payment_id"].as_str()?, (order, p))))
        .collect();
    let mut captured = 0;
    for intent in e.ledger.intents.values() {
        if intent.refunds.len() > 1 || intent.second_refund_asks > 0 {
            failures.push(format!(
                "{}: refunded {} times, {} more asked",
                intent.id,
                intent.refunds.len(),
                intent.second_refund_asks
            ));
        }
        if !intent.captured {
            if !intent.refunds.is_empty() {
                failures.push(format!("{}: refunded without a capture", intent.id));
            }
            continue;
        }
        captured += 1;
        if !by_intent.contains_key(intent.id.as_str()) {
            if !intent.refunds.is_empty() {
                failures.push(format!(
                    "{}: a payment the shop did not make was refunded",
                    intent.id
                ));
            }
            continue;
        }
        let order = by_intent
            .get(intent.id.as_str())
            .and_then(|(order, _)| e.snapshot.orders.get(*order));
        let kept =
            order.is_some_and(|o| matches!(status(o), "PAID" | "SHIPPED" | "DELIVERED" | "RETURN_REQUESTED"));
        match (kept, intent.refunds.len()) {
            (true, 0) | (false, 1) => {}
            (true, _) => failures.push(format!(
                "{}: the order keeps the money and was refunded",
                intent.id
            )),
            (false, _) => failures.push(format!(
                "{}: captured for order {} ({}) and not refunded",
                intent.id,
                intent.order_id,
                order.map_or("no such order", status)
            )),
        }
    }
    for (order, payment) in &e.snapshot.payments {
        if payment["status"] == "refunded" {
            let refunded = payment["provider_payment_id"]
                .as_str()
                .and_then(|i| e.ledger.intents.get(i))
                .is_some_and(|i| i.refunds.len() == 1);
            if !refunded {
                failures.push(format!(
                    "order {order}: marked refunded, no refund at the provider"
                ));
            }
        }
    }
    Check {
        name: "money: captures kept or refunded once, others' left alone",
        checked: captured,
        failures,
    }
}

/// An order's total is the formula of its own figures: `subtotal` − Σ line
/// `discount` + `shipping` + `tax_total` (when its prices were net: each
/// line's `net` is its `amount` − `discount`) + `duties` (unless they are
/// due on delivery); its tax lines sum to `tax_total`.
fn totals_follow_their_figures(e: &Evidence) -> Check {
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let mut failures = Vec::new();
    for (id, order) in &e.snapshot.orders {
        let lines = order["items"].as_array().cloned().unwrap_or_default();
        let discounts: i64 = lines.iter().map(|l| int(&l["discount"])).sum();
        let net_prices = lines
            .iter()
            .all(|l| int(&l["net"]) == int(&l["amount"]) - int(&l["discount"]));
        let tax_total = int(&order["tax_total"]);
        let formula = int(&order["subtotal"]) - discounts
            + int(&order["shipping"])
            + if net_prices { tax_total } else { 0 }
            + if order["duties_due_on_delivery"] == true {
                0
            } else {
                int(&order["duties"])
            };
        let subtotal: i64 = lines.iter().map(|l| int(&l["amount"])).sum();
        let tax_lines: i64 = order["tax_lines"]
            .as_array()
            .map(|t| t.iter().map(|t| int(&t["tax"])).sum())
            .unwrap_or(0);
        if formula != int(&order["total"]) || subtotal != int(&order["subtotal"]) || tax_lines != tax_total {
            failures.push(format!(
                "order {id}: total {} ≠ {formula} from its figures (subtotal {} of lines {subtotal}, tax lines {tax_lines} of {tax_total})",
                order["total"], order["subtotal"]
            ));
        }
    }
    Check {
        name: "order totals: total = the formula of its own figures",
        checked: e.snapshot.orders.len(),
        failures,
    }
}

/// Every capture of an order's payment took its total, in its currency
/// (in the provider's units).
fn captures_charge_the_total(e: &Evidence) -> Check {
    use shared::foundation::money::{Amount, Currency};
    let mut failures = Vec::new();
    let mut checked = 0;
    for intent in e.ledger.intents.values().filter(|i| i.captured) {
        let Some(order) = e.snapshot.orders.get(&intent.order_id) else {
            continue;
        };
        checked += 1;
        let expected = Currency::parse(order["currency"].as_str().unwrap_or_default().to_owned())
            .ok()
            .and_then(|c| Amount::new(order["total"].as_i64().unwrap_or(-1), c).ok())
            .and_then(|a| shared::model::charges::provider_units(a).ok());
        let same_currency = intent
            .currency
            .eq_ignore_ascii_case(order["currency"].as_str().unwrap_or_default());
        if expected != Some(intent.amount) || !same_currency {
            failures.push(format!(
                "{}: captured {} {} for order {} of {} {}",
                intent.id, intent.amount, intent.currency, intent.order_id, order["total"], order["currency"]
            ));
        }
    }
    Check {
        name: "captures: the amount captured is the order's total in its currency",
        checked,
        failures,
    }
}

/// Shipments: none for an order refunded or cancelled before shipping.
fn shipments_match_orders(e: &Evidence) -> Check {
    let mut failures = Vec::new();
    for (id, order) in &e.snapshot.orders {
        let shipped = e.snapshot.shipments.contains(id);
        let went = !order["delivered_at"].is_null();
        let payment = e.snapshot.payments.get(id);
        let restocked_refund = payment.is_some_and(|p| p["refund_restock"].as_bool() == Some(true));
        let should_not = match status(order) {
            "CANCELLED" | "PENDING_PAYMENT" | "PAID" => true,
            "REFUND_PENDING" | "REFUNDED" => restocked_refund && !went,
            _ => false,
        };
        let should = matches!(status(order), "SHIPPED" | "DELIVERED" | "RETURN_REQUESTED");
        if shipped && should_not {
            failures.push(format!("order {id} ({}) has a shipment", status(order)));
        }
        if should && !shipped {
            failures.push(format!("order {id} ({}) has no shipment", status(order)));
        }
    }
    Check {
        name: "shipments: at most one, none unpaid or refunded before shipping",
        checked: e.snapshot.orders.len(),
        failures,
    }
}

/// Idempotency: one order per key, and it exists for its owner.
fn one_order_per_key(e: &Evidence) -> Check {
    let mut failures = Vec::new();
    for (key, orders) in &e.book.order_keys {
        if orders.len() > 1 {
            failures.push(format!("key {key}: {} orders", orders.len()));
        }
        for order in orders {
            let owner = e.book.owners.get(order);
            let stored = e.snapshot.orders.get(order).and_then(|o| o["user_id"].as_str());
            if stored.is_none() || stored != owner.map(String::as_str) {
                failures.push(format!(
                    "key {key}: order {order} answered but not stored for its owner"
                ));
            }
        }
    }
    Check {
        name: "one order per idempotency key",
        checked: e.book.order_keys.len(),
        failures,
    }
}

/// Ratings: totals on the counters equal the reviews stored.
fn ratings_match_reviews(e: &Evidence) -> Check {
    let mut failures = Vec::new();
    for product in e.initial.keys() {
        let (_, count, sum) = e.snapshot.counters.get(product).copied().unwrap_or_default();
        let (reviews, ratings) = e.snapshot.reviews.get(product).copied().unwrap_or_default();
        if (count, sum) != (reviews, ratings) {
            failures.push(format!(
                "product {product}: totals {count}/{sum}, reviews {reviews}/{ratings}"
            ));
        }
    }
    Check {
        name: "rating totals equal the reviews stored",
        checked: e.initial.len(),
        failures,
    }
}

/// Unpaid-order counts (the hoarding limit) equal the orders awaiting
/// payment, user by user.
fn unpaid_counts_match(e: &Evidence) -> Check {
    let mut pending: BTreeMap<&str, i64> = BTreeMap::new();
    for order in e.snapshot.orders.values() {
        if status(order) == "PENDING_PAYMENT" {
            *pending
                .entry(order["user_id"].as_str().unwrap_or_default())
                .or_default() += 1;
        }
    }
    let users: BTreeSet<&str> = pending
        .keys()
        .copied()
        .chain(e.snapshot.unpaid.keys().map(String::as_str))
        .collect();
    let failures = users
        .iter()
        .filter_map(|user| {
            let counted = e.snapshot.unpaid.get(*user).copied().unwrap_or(0);
            let actual = pending.get(user).copied().unwrap_or(0);
            (counted != actual)
                .then(|| format!("user {user}: counted {counted} unpaid, {actual} awaiting payment"))
        })
        .collect();
    Check {
        name: "unpaid-order counts equal the orders awaiting payment",
        checked: users.len(),
        failures,
    }
}

/// The promotions each order redeemed and still holds: (order's owner,
/// promotion). An order cancelled or expired gave its uses back, and so
/// did one paid after that (a late payment, refunded: its status moved on
/// from `CANCELLED`).
fn holdings<'a>(e: &Evidence<'a>) -> Vec<(&'a str, &'a str)> {
    e.snapshot
        .orders
        .iter()
        .filter(|(id, order)| {
            let late = e
                .snapshot
                .payments
                .get(*id)
                .is_some_and(|p| p["paid_late"].as_bool() == Some(true));
            status(order) != "CANCELLED" && !late
        })
        .flat_map(|(_, order)| {
            let user = order["user_id"].as_str().unwrap_or_default();
            order["redemptions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |r| (user, r["promotion_id"].as_str().unwrap_or_default()))
        })
        .collect()
}

/// A promotion's uses recorded (Σ `used` over its counters) equal the
/// orders holding it that are not cancelled or expired, within its
/// `usage_limit`, no counter below 0 left.
fn promotion_uses_match_orders(e: &Evidence) -> Check {
    let mut holding: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, promotion) in holdings(e) {
        *holding.entry(promotion).or_default() += 1;
    }
    let failures = e
        .snapshot
        .promotions
        .iter()
        .filter_map(|(id, promotion)| {
            let (used, lowest_left) = e.snapshot.promotion_uses.get(id).copied().unwrap_or((0, 0));
            let held = holding.get(id.as_str()).copied().unwrap_or(0);
            let limit = promotion["usage_limit"].as_i64();
            if used != held {
                Some(format!(
                    "promotion {id}: {used} uses recorded, {held} orders hold it"
                ))
            } else if limit.is_some_and(|limit| used > limit) {
                Some(format!("promotion {id}: {used} uses, limit {limit:?}"))
            } else if lowest_left < 0 {
                Some(format!("promotion {id}: a counter at {lowest_left} left"))
            } else {
                None
            }
        })
        .collect();
    Check {
        name: "promotion uses recorded = orders holding it (not cancelled or expired), within its limit",
        checked: e.snapshot.promotions.len(),
        failures,
    }
}

/// Each customer's count of a promotion's uses equals their orders holding
/// it, and none is above the per-customer limit.
fn customers_within_their_limits(e: &Evidence) -> Check {
    let mut holding: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (user, promotion) in holdings(e) {
        let limited = e
            .snapshot
            .promotions
            .get(promotion)
            .is_some_and(|p| p["per_customer_limit"].is_i64());
        if limited {
            *holding
                .entry((promotion.to_owned(), user.to_owned()))
                .or_default() += 1;
        }
    }
    let keys: BTreeSet<&(String, String)> = holding.keys().chain(e.snapshot.customer_uses.keys()).collect();
    let failures = keys
        .iter()
        .filter_map(|key| {
            let (promotion, user) = key;
            let counted = e.snapshot.customer_uses.get(*key).copied().unwrap_or(0);
            let held = holding.get(*key).copied().unwrap_or(0);
            let limit = e
                .snapshot
                .promotions
                .get(promotion)
                .and_then(|p| p["per_customer_limit"].as_i64());
            if counted != held {
                Some(format!("{user} on {promotion}: counted {counted}, holds {held}"))
            } else if limit.is_some_and(|limit| held > limit) {
                Some(format!("{user} on {promotion}: {held} uses, limit {limit:?}"))
            } else {
                None
            }
        })
        .collect();
    Check {
        name: "no customer above a promotion's per-customer limit; counts = orders",
        checked: keys.len(),
        failures,
    }
}

/// Nothing stuck after settling.
fn nothing_is_stuck(e: &Evidence) -> Check {
    let failures = e
        .snapshot
        .orders
        .iter()
        .filter_map(|(id, order)| {
            e.snapshot
                .stuck(id, order)
                .map(|why| format!("order {id}: {why}"))
        })
        .collect();
    Check {
        name: "no order stuck after settling",
        checked: e.snapshot.orders.len(),
        failures,
    }
}

/// Clients: no 500; every 503 says when to retry; every webhook delivered.
fn clients_saw_the_contract(e: &Evidence) -> Check {
    let mut failures: Vec<String> = e
        .seen
        .server_errors
        .iter()
        .map(|(route, n)| format!("{route}: {n} server error(s)"))
        .collect();
    if e.seen.unavailable_without_retry_after > 0 {
        failures.push(format!(
            "{} 503s without Retry-After",
            e.seen.unavailable_without_retry_after
        ));
    }
    if e.book.undelivered > 0 {
        failures.push(format!(
            "{} webhook deliveries never accepted",
            e.book.undelivered
        ));
    }
    failures.extend(e.book.surprises.iter().cloned());
    Check {
        name: "clients: no 500, 503 with Retry-After, answers the contract allows",
        checked: usize::try_from(e.seen.attempts).unwrap_or(0),
        failures,
    }
}

/// Every change of an order that calls for an email has exactly one: its
/// claim done, as `sent` (SES lists exactly one message with its id),
/// `suppressed` or `no_recipient`; and every one that calls for an event
/// was published exactly once (its claim done, one delivery with its id on
/// the run's queue). No order has more emails than its claims sent, and
/// no event was published that no change called for.
fn every_change_is_emailed_and_published_once(e: &Evidence) -> Check {
    let sent = e.sent;
    let claims = &e.snapshot.claims;
    let mut failures = Vec::new();
    let mut by_message: BTreeMap<&str, usize> = BTreeMap::new();
    for email in sent.emails {
        *by_message
            .entry(email["MessageId"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    let mut by_event: BTreeMap<&str, usize> = BTreeMap::new();
    for event in sent.events {
        *by_event
            .entry(event["detail"]["id"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    let mut sent_per_order: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, owed) in sent.owed {
        let claim = |channel: &str| claims.get(&(channel.to_owned(), id.clone()));
        if owed.email {
            match claim("email") {
                Some(claim) if claim["state"] == "done" => match claim["outcome"].as_str() {
                    Some("sent") => {
                        *sent_per_order.entry(owed.order.as_str()).or_default() += 1;
                        let reference = claim["reference"].as_str().unwrap_or_default();
                        let listed = by_message.get(reference).copied().unwrap_or(0);
                        if listed != 1 {
                            failures.push(format!("{id}: email sent as {reference}, listed {listed} times"));
                        }
                    }
                    Some("suppressed" | "no_recipient") => {}
                    other => failures.push(format!("{id}: email done as {other:?}")),
                },
                Some(claim) => failures.push(format!("{id}: email claimed, not done ({})", claim["state"])),
                None => failures.push(format!("{id}: email never claimed")),
            }
        }
        if let Some(kind) = owed.event {
            match claim("bus") {
                Some(claim) if claim["state"] == "done" => {}
                Some(_) => failures.push(format!("{id}: {kind} claimed, not done")),
                None => failures.push(format!("{id}: {kind} never claimed")),
            }
            if sent.reads_events {
                let delivered = by_event.get(id.as_str()).copied().unwrap_or(0);
                if delivered != 1 {
                    failures.push(format!("{id}: {kind} delivered {delivered} times"));
                }
            }
        }
    }
    for (order, claimed) in &sent_per_order {
        let listed = sent
            .emails
            .iter()
            .filter(|m| m["Subject"].as_str().is_some_and(|s| s.contains(order)))
            .count();
        if listed != *claimed {
            failures.push(format!(
                "order {order}: {listed} emails listed, {claimed} sent by claims"
            ));
        }
    }
    for id in by_event.keys() {
        if id.starts_with("order-") && !sent.owed.contains_key(*id) {
            failures.push(format!("{id}: published, but no change called for it"));
        }
    }
    Check {
        name: "every order change is emailed and published exactly once",
        checked: sent.owed.len(),
        failures,
    }
}

/// Every watched product's alert matches its stock (set exactly when the
/// stock is at or below its threshold), and each of its falls
/// (1..=`low_stock_alerts`) was published once: its claim done and one
/// delivery on the run's queue; no other `product.low_stock` was.
fn every_fall_to_low_stock_is_published_once(e: &Evidence) -> Check {
    let mut failures = e.snapshot.low_stock_gaps();
    let mut owed = BTreeSet::new();
    for (id, product) in &e.snapshot.products {
        if product["low_stock_threshold"].is_null() {
            continue;
        }
        for alert in 1..=product["low_stock_alerts"].as_u64().unwrap_or(0) {
            owed.insert(format!("product-{id}-low-stock-{alert}"));
        }
    }
    if e.sent.reads_events {
        let mut by_event: BTreeMap<&str, usize> = BTreeMap::new();
        for event in e.sent.events {
            if event["detail-type"] == "product.low_stock" {
                *by_event
                    .entry(event["detail"]["id"].as_str().unwrap_or_default())
                    .or_default() += 1;
            }
        }
        for id in &owed {
            let delivered = by_event.get(id.as_str()).copied().unwrap_or(0);
            if delivered != 1 {
                failures.push(format!("{id}: delivered {delivered} times"));
            }
        }
        for id in by_event.keys() {
            if !owed.contains(*id) {
                failures.push(format!("{id}: published, but no fall called for it"));
            }
        }
    }
    Check {
        name: "every fall to a low-stock threshold is published exactly once",
        checked: owed.len(),
        failures,
    }
}

/// The sales figures the indexer kept from the stream (under the run's
/// kills and faults) equal, per currency over every day, what the orders
/// call for: each placed, paid (with its total's parts), cancelled or
/// expired, and refunded order counted once.
fn the_sales_report_sums_the_orders(e: &Evidence) -> Check {
    Check {
        name: "the sales report equals the sum over the orders it covers",
        checked: e.snapshot.orders.len(),
        failures: e.snapshot.sales_gaps(),
    }
}
