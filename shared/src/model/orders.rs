//! Orders: the one state machine every writer of an order's status goes
//! through, and pricing an order from a snapshot of the catalogue.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
pub use crate::foundation::error::Shortage;
use crate::foundation::error::{Error, FieldError};
pub use crate::foundation::ids::OrderId;
use crate::foundation::ids::{ProductId, UserId};
use crate::foundation::input::{Errors, FromJson, Object};
use crate::foundation::money::{Currency, Money};
pub use crate::foundation::status::OrderStatus;
use crate::model::auth::{Principal, Role};
use crate::model::charges;
use crate::model::fx::FxSnapshot;
use crate::model::markets::MarketCode;
use crate::model::pricing::Percent;
use crate::model::products::{ProductState, take_units};
use crate::model::promotions::uses::{Redemption, UsesRead};
use crate::model::quote::Setup;
pub use crate::model::quote::Totals;
use crate::model::quote::{Destination, Quote, QuoteInput, QuoteTerms, quote};
use crate::model::users::{Address, CountryCode};

pub const MAX_LINES: usize = 50;
pub use crate::model::quote::{LineRequest, MAX_QUANTITY};

// ---------------------------------------------------------------- status

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The payment webhook confirmed the payment.
    Pay,
    /// The owner or an admin cancelled it.
    Cancel,
    /// It stayed unpaid past `expires_at`.
    Expire,
    /// A payment succeeded for an order already cancelled.
    PayLate,
    /// The shipping worker shipped it.
    Ship,
    /// The carrier delivered it.
    Deliver,
    /// A refund was asked for, by the owner or an admin.
    Refund { by_admin: bool },
    /// The owner asked to return it.
    Return,
    /// An admin received the returned goods.
    ReceiveReturn,
    /// The refunds worker refunded it.
    Refunded,
    /// The whole payment was refunded at the provider (its dashboard, say),
    /// not through the shop: whatever the order was doing stops.
    RefundedAtProvider,
    /// A refund the provider had accepted failed afterwards: the money is
    /// still owed.
    RefundFailed,
}

/// The order state machine (the contract's "Order status"): the status `event` leads
/// to from `from`, or `None` when the event is not allowed there. Every
/// writer of an order's status asks this first and then writes
/// conditionally on `from`, so two racing writers never both win.
pub fn next_status(from: OrderStatus, event: Event) -> Option<OrderStatus> {
    use OrderStatus::*;
    match (from, event) {
        (PendingPayment, Event::Pay) => Some(Paid),
        (PendingPayment, Event::Cancel | Event::Expire) => Some(Cancelled),
        (Cancelled, Event::PayLate) => Some(RefundPending),
        (Paid, Event::Ship) => Some(Shipped),
        (Shipped, Event::Deliver) => Some(Delivered),
        (Paid, Event::Refund { .. }) => Some(RefundPending),
        (Shipped | Delivered, Event::Refund { by_admin: true }) => Some(RefundPending),
        (Delivered, Event::Return) => Some(ReturnRequested),
        (ReturnRequested, Event::ReceiveReturn) => Some(RefundPending),
        (RefundPending, Event::Refunded) => Some(Refunded),
        (Paid | Shipped | Delivered | ReturnRequested | RefundPending, Event::RefundedAtProvider) => {
            Some(Refunded)
        }
        (Refunded, Event::RefundFailed) => Some(RefundPending),
        _ => None,
    }
}

/// [`next_status`], as the API's `409 INVALID_STATE` when not allowed.
pub fn transition(from: OrderStatus, event: Event) -> Result<OrderStatus, Error> {
    next_status(from, event).ok_or(Error::InvalidState(from))
}

// ---------------------------------------------------------------- values

/// An order's line: what it cost (`amount` = `unit_price` × `quantity`,
/// also answered as `line_total`), its discount, net, tax and duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub discount: i64,
    #[serde(default)]
    pub net: i64,
    #[serde(default)]
    pub tax: i64,
    #[serde(default = "no_rate")]
    pub tax_rate: Percent,
    #[serde(default)]
    pub duty: i64,
}

fn no_rate() -> Percent {
    Percent::ZERO
}

pub use crate::model::promotions::AppliedDiscount;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub items: Vec<OrderLine>,
    /// Its figures: `total` = `subtotal` − Σ line `discount` + `shipping`
    /// + (`tax_total` if exclusive) + (`duties` if DDP).
    #[serde(flatten)]
    pub totals: Totals,
    /// The method it ships by (`None`: its market has none).
    #[serde(default)]
    pub shipping_method: Option<MarketCode>,
    #[serde(default)]
    pub discounts: Vec<AppliedDiscount>,
    /// What the payment charges.
    pub total: Money,
    pub currency: Currency,
    /// The market it was priced in (orders from before markets: `default`).
    #[serde(default = "MarketCode::default_market")]
    pub market: MarketCode,
    /// The rate a converted price was priced at; null when no line was
    /// converted. No later change of rates touches it.
    #[serde(default)]
    pub fx: Option<FxSnapshot>,
    pub shipping_address: Address,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    /// The customer's bank disputes the payment (a chargeback): shown to
    /// the owner and admins; while it is open an unshipped order is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<Dispute>,
    /// Which stock counters its lines took their units from (not shown: the
    /// store keeps it beside the order, so that a release gives each unit
    /// back where it came from).
    #[serde(skip)]
    pub stock_takes: Vec<StockTake>,
    /// The promotions' uses it took (not shown either: kept beside it, so
    /// that a release gives each back to the counter it came from).
    #[serde(skip)]
    pub redemptions: Vec<Redemption>,
}

/// A dispute of an order's payment, as the provider reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// The provider's dispute id.
    pub id: String,
    /// The provider's reason (`fraudulent`, `product_not_received`, ...).
    pub reason: String,
    pub status: DisputeStatus,
    pub opened_at: Timestamp,
}

/// A dispute's state as the provider reports it. The shop acts on two:
/// won (the hold lifts; a withdrawn dispute is reported as won) and lost
/// (the order ends); every other state (`needs_response`, `under_review`,
/// `warning_*`, ...) holds the order and is kept as reported. Stored as the
/// provider's string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DisputeStatus {
    Won,
    Lost,
    Open(String),
}

impl DisputeStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Open(status) => status,
        }
    }
}

impl From<String> for DisputeStatus {
    fn from(status: String) -> Self {
        match status.as_str() {
            "won" => Self::Won,
            "lost" => Self::Lost,
            _ => Self::Open(status),
        }
    }
}

impl From<&str> for DisputeStatus {
    fn from(status: &str) -> Self {
        Self::from(status.to_owned())
    }
}

impl From<DisputeStatus> for String {
    fn from(status: DisputeStatus) -> Self {
        status.as_str().to_owned()
    }
}

impl std::fmt::Display for DisputeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Dispute {
    /// Whether the order must wait: every status but a dispute won holds it.
    pub fn holds(&self) -> bool {
        self.status != DisputeStatus::Won
    }

    /// Whether the bank decided for the customer: the payment is gone.
    pub fn lost(&self) -> bool {
        self.status == DisputeStatus::Lost
    }
}

/// Where a lost dispute takes an order in `from`, and whether its stock
/// comes back: an order that never shipped (`PAID`, held by the dispute)
/// ends `REFUNDED` (the bank returned the money to the customer) with its
/// stock back, as a refund made at the provider would; one that shipped
/// keeps its status, the lost dispute on it for an admin to see (the goods
/// are gone, the money too). `None`: nothing moves.
pub fn on_dispute_lost(from: OrderStatus) -> Option<(OrderStatus, bool)> {
    match from {
        OrderStatus::Paid => next_status(from, Event::RefundedAtProvider).map(|to| (to, true)),
        _ => None,
    }
}

impl Order {
    /// Whether a dispute holds the order: it is not shipped meanwhile.
    pub fn held(&self) -> bool {
        self.dispute.as_ref().is_some_and(Dispute::holds)
    }

    /// Whether `caller` may see and act on this order as its owner or an admin.
    pub fn visible_to(&self, caller: &Principal) -> bool {
        caller.is_admin() || self.user_id == caller.user_id
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub items: Vec<LineRequest>,
    pub shipping_address: Address,
    /// The method asked for; `None`: the cheapest that takes the order.
    pub shipping_method: Option<MarketCode>,
    /// Coupon codes, normalised (none apply until promotions exist).
    pub coupon_codes: Vec<String>,
}

impl FromJson for NewOrder {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let items: Option<Vec<LineRequest>> = o.required_list("items", 1, MAX_LINES);
        let shipping_address = o.required_nested("shipping_address");
        let shipping_method = o.optional("shipping_method", MarketCode::parse);
        let coupon_codes = o.optional("coupon_codes", crate::model::coupons::coupon_codes);
        o.end();
        let items = items?;
        let mut seen = HashSet::new();
        let mut duplicate = false;
        for (i, line) in items.iter().enumerate() {
            if !seen.insert(&line.product_id) {
                errors.push(FieldError {
                    field: format!("items[{i}].product_id"),
                    message: "names a product already on the order".into(),
                });
                duplicate = true;
            }
        }
        if duplicate {
            return None;
        }
        Some(Self {
            items,
            shipping_address: shipping_address?,
            shipping_method: shipping_method?,
            coupon_codes: coupon_codes?.unwrap_or_default(),
        })
    }
}

impl NewOrder {
    /// The products the order names, in its order.
    pub fn product_ids(&self) -> Vec<ProductId> {
        self.items.iter().map(|line| line.product_id.clone()).collect()
    }
}

/// Orders (and carts) are for customers; an admin is `403`.
pub fn may_order(caller: &Principal) -> Result<(), Error> {
    match caller.role {
        Role::Customer => Ok(()),
        Role::Admin => Err(Error::Forbidden),
    }
}

/// Placing an order (`POST /orders`, checkout) also takes a verified
/// email where the deployment requires one (`REQUIRE_VERIFIED_EMAIL`, on
/// by default): `409 EMAIL_NOT_VERIFIED`. Sign-up alone no longer buys a
/// fresh set of hoarding limits.
pub fn may_place(caller: &Principal, require_verified: bool) -> Result<(), Error> {
    may_order(caller)?;
    if require_verified && !caller.verified {
        return Err(Error::EmailNotVerified);
    }
    Ok(())
}

/// What an order is placed with, besides its request.
#[derive(Debug, Clone)]
pub struct OrderTerms<'a> {
    pub id: OrderId,
    pub user_id: UserId,
    /// The markets, rates, tax rates and duty rules it is priced with.
    pub setup: &'a Setup,
    pub base: Currency,
    pub store_country: &'a CountryCode,
    pub now: Timestamp,
    /// How long it may stay unpaid.
    pub ttl_secs: i64,
    /// Picks among the stock counters that could serve a line (random per
    /// attempt, so concurrent buyers of a hot product spread out).
    pub spread: u64,
}

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// What one customer may hold without paying (`MAX_UNPAID_ORDERS`,
/// `MAX_UNITS_PER_PRODUCT`): without limits, anyone could reserve the
/// whole catalogue for free, and renew the hold whenever expiry released it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// Orders awaiting payment per customer at once; the order's
    /// transaction counts them (`TOO_MANY_UNPAID_ORDERS`).
    pub max_unpaid_orders: u32,
    /// Units of one product in one order (`QUANTITY_LIMIT`).
    pub max_units_per_product: u32,
}

impl Default for OrderLimits {
    fn default() -> Self {
        Self {
            max_unpaid_orders: 3,
            max_units_per_product: 10,
        }
    }
}

/// The first line over the per-product cap, as `QUANTITY_LIMIT`.
pub fn within_limits(input: &NewOrder, limits: &OrderLimits) -> Result<(), Error> {
    match input
        .items
        .iter()
        .find(|line| line.quantity > limits.max_units_per_product)
    {
        Some(line) => Err(Error::QuantityLimit {
            product_id: line.product_id.clone(),
            max: limits.max_units_per_product,
        }),
        None => Ok(()),
    }
}

/// Units of one product taken from one of its counters, with the prices
/// the order was priced from (the base price and the revision of the
/// explicit ones, which the counter carries). They go back to the same
/// counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTake {
    pub product_id: ProductId,
    pub counter: u8,
    pub quantity: u32,
    /// The product's base price (not the line's, which may be in another
    /// currency).
    pub unit_price: Money,
    #[serde(default)]
    pub prices_rev: u32,
}

/// Prices `input` from `catalogue` (products by id, deleted ones
/// included) as a cart holding its lines would be ([`quote`]): names and
/// figures copied into the lines, shipping, tax, duty and the total, an
/// expiry, and the stock counters each line takes its units from
/// (`stock_takes`). A product missing or not for sale is
/// `PRODUCT_UNAVAILABLE` (the first such line); otherwise every short line
/// is named in one `OUT_OF_STOCK`; then `NOT_SHIPPABLE`, then a total the
/// provider cannot charge `AMOUNT_OUT_OF_RANGE`. The store writes the order
/// and, per take, a decrement conditional on the counter still having the
/// units, at the prices read, for sale.
pub fn price_order(
    input: &NewOrder,
    catalogue: &HashMap<ProductId, ProductState>,
    uses: &BTreeMap<String, UsesRead>,
    terms: OrderTerms<'_>,
) -> Result<Order, Error> {
    let quoted = quote(
        QuoteInput {
            lines: &input.items,
            destination: Some(Destination {
                country: input.shipping_address.country(),
                region: input.shipping_address.region(),
            }),
            shipping_method: input.shipping_method.as_ref(),
            coupon_codes: &input.coupon_codes,
            uses,
        },
        catalogue,
        QuoteTerms {
            setup: terms.setup,
            base: terms.base,
            store_country: terms.store_country,
            now: terms.now,
        },
    )?;
    if quoted.unknown_method {
        return Err(Error::invalid(
            "shipping_method",
            format!(
                "is not a shipping method of the market {}",
                quoted.market.as_str()
            ),
        ));
    }
    if let Some(refused) = quoted.refusal(&input.items) {
        return Err(refused);
    }
    order_from_quote(input, catalogue, quoted, terms)
}

/// The order `quoted` (which must have no problem) makes: its figures, an
/// expiry, and the counters each line takes its units from; a total the
/// provider cannot charge is `AMOUNT_OUT_OF_RANGE`.
pub fn order_from_quote(
    input: &NewOrder,
    catalogue: &HashMap<ProductId, ProductState>,
    quoted: Quote,
    terms: OrderTerms<'_>,
) -> Result<Order, Error> {
    let mut takes = Vec::with_capacity(input.items.len());
    for requested in &input.items {
        let product = catalogue
            .get(&requested.product_id)
            .ok_or_else(|| Error::internal("a quoted product is missing"))?;
        let record = &product.record;
        let from = take_units(&product.counters, requested.quantity, terms.spread)
            .ok_or_else(|| Error::internal("a quoted line is short"))?;
        takes.extend(from.into_iter().map(|take| StockTake {
            product_id: record.id.clone(),
            counter: take.counter,
            quantity: take.quantity,
            unit_price: record.price,
            prices_rev: record.prices_rev,
        }));
    }
    // Each promotion's use from one of its counters (another part of the
    // spread than the stock's), and the customer's count of uses.
    let redemptions: Vec<Redemption> = quoted
        .redeem
        .iter()
        .map(|from| from.redeem(terms.spread.rotate_left(32)))
        .collect();
    // The order's put, its customer's count of unpaid orders and a
    // checkout's cart go with the takes and the redemptions.
    if takes.len() + 2 * redemptions.len() + 3 > MAX_TRANSACTION_ITEMS {
        return Err(Error::Unavailable(
            "the order's units are spread over too many stock counters to take at once".into(),
        ));
    }
    let money =
        |minor: i64| Money::new(minor).map_err(|err| Error::internal(format!("an order figure {err}")));
    let items = quoted
        .lines
        .iter()
        .map(|line| {
            let f = &line.figures;
            Ok(OrderLine {
                product_id: line.product_id.clone(),
                name: line.name.clone(),
                unit_price: money(f.unit_price)?,
                quantity: f.quantity,
                line_total: money(f.amount)?,
                amount: f.amount,
                discount: f.discount,
                net: f.net,
                tax: f.tax,
                tax_rate: f.tax_rate,
                duty: f.duty,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let total = money(quoted.total)?;
    // A total the provider cannot charge could never be paid: refused now,
    // before any stock is held for it.
    let currency = quoted.currency;
    let out_of_range = |limits: charges::ChargeLimits| Error::AmountOutOfRange {
        min: limits.min,
        max: limits.max,
    };
    charges::check(total, &currency).map_err(out_of_range)?;
    // In the provider's units too (every amount is whole steps of the
    // currency, and markets sell only in currencies it charges: a guard).
    total
        .of(currency)
        .ok()
        .and_then(|total| charges::provider_units(total).ok())
        .ok_or_else(|| out_of_range(charges::limits(&currency)))?;
    Ok(Order {
        id: terms.id,
        user_id: terms.user_id,
        status: OrderStatus::PendingPayment,
        items,
        totals: quoted.totals,
        shipping_method: quoted.shipping_method,
        discounts: quoted.discounts,
        total,
        currency,
        market: quoted.market,
        fx: quoted.fx,
        shipping_address: input.shipping_address.clone(),
        created_at: terms.now,
        updated_at: terms.now,
        expires_at: Some(terms.now.plus_secs(terms.ttl_secs)),
        paid_at: None,
        delivered_at: None,
        dispute: None,
        stock_takes: takes,
        redemptions,
    })
}

/// `order` after a status change at `now`.
pub fn moved(mut order: Order, to: OrderStatus, now: Timestamp) -> Order {
    order.status = to;
    order.updated_at = now;
    if to != OrderStatus::PendingPayment {
        order.expires_at = None;
    }
    order
}

#[cfg(test)]
mod dispute_tests {
    use super::*;

    #[test]
    fn dispute_statuses_keep_the_providers_string_and_only_won_lifts_the_hold() {
        for status in ["won", "lost", "needs_response", "warning_closed"] {
            assert_eq!(String::from(DisputeStatus::from(status)), status);
        }
        let dispute = |status: &str| Dispute {
            id: "du_1".into(),
            reason: "fraudulent".into(),
            status: status.into(),
            opened_at: Timestamp::from_unix(0),
        };
        assert!(!dispute("won").holds() && !dispute("won").lost());
        assert!(dispute("lost").holds() && dispute("lost").lost());
        assert!(dispute("under_review").holds() && !dispute("under_review").lost());
        let stored = serde_json::to_value(dispute("needs_response")).expect("json");
        assert_eq!(
            stored["status"], "needs_response",
            "stored as the provider's string"
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::error::Unavailable;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::testing::currency;

    const ALL: [OrderStatus; 8] = OrderStatus::ALL;

    #[test]
    fn the_state_machine_allows_exactly_the_documented_transitions() {
        use OrderStatus::*;
        let events = [
            Event::Pay,
            Event::Cancel,
            Event::Expire,
            Event::PayLate,
            Event::Ship,
            Event::Deliver,
            Event::Refund { by_admin: false },
            Event::Refund { by_admin: true },
            Event::Return,
            Event::ReceiveReturn,
            Event::Refunded,
            Event::RefundedAtProvider,
            Event::RefundFailed,
        ];
        let mut allowed = Vec::new();
        for from in ALL {
            for event in events {
                if let Some(to) = next_status(from, event) {
                    allowed.push((from, event, to));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                (PendingPayment, Event::Pay, Paid),
                (PendingPayment, Event::Cancel, Cancelled),
                (PendingPayment, Event::Expire, Cancelled),
                (Paid, Event::Ship, Shipped),
                (Paid, Event::Refund { by_admin: false }, RefundPending),
                (Paid, Event::Refund { by_admin: true }, RefundPending),
                (Paid, Event::RefundedAtProvider, Refunded),
                (Shipped, Event::Deliver, Delivered),
                (Shipped, Event::Refund { by_admin: true }, RefundPending),
                (Shipped, Event::RefundedAtProvider, Refunded),
                (Delivered, Event::Refund { by_admin: true }, RefundPending),
                (Delivered, Event::Return, ReturnRequested),
                (Delivered, Event::RefundedAtProvider, Refunded),
                (Cancelled, Event::PayLate, RefundPending),
                (RefundPending, Event::Refunded, Refunded),
                (RefundPending, Event::RefundedAtProvider, Refunded),
                (Refunded, Event::RefundFailed, RefundPending),
                (ReturnRequested, Event::ReceiveReturn, RefundPending),
                (ReturnRequested, Event::RefundedAtProvider, Refunded),
            ]
        );
        assert!(matches!(
            transition(Shipped, Event::Cancel),
            Err(Error::InvalidState(Shipped))
        ));
    }

    fn address() -> Value {
        json!({"name": "A", "line1": "1 Road", "city": "X", "postal_code": "10115", "country": "DE"})
    }

    #[test]
    fn order_requests_are_bounded_and_name_bad_lines() {
        let id = ProductId::new().to_string();
        let ok: NewOrder = parse_document(
            json!({"items": [{"product_id": id, "quantity": 2}], "shipping_address": address()}),
        )
        .expect("valid");
        assert_eq!(ok.items[0].quantity, 2);

        let Err(Error::Validation(errors)) = parse_document::<NewOrder>(json!({
            "items": [{"product_id": id, "quantity": 0}, {"product_id": "nope", "quantity": 101, "price": 1}],
            "shipping_address": address()
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "items[0].quantity",
                "items[1].product_id",
                "items[1].quantity",
                "items[1].price"
            ]
        );

        let Err(Error::Validation(errors)) = parse_document::<NewOrder>(json!({
            "items": [{"product_id": id, "quantity": 1}, {"product_id": id, "quantity": 1}],
            "shipping_address": address()
        })) else {
            panic!("duplicates are refused")
        };
        assert_eq!(errors[0].field, "items[1].product_id");

        let too_many: Vec<_> = (0..=MAX_LINES)
            .map(|_| json!({"product_id": ProductId::new().to_string(), "quantity": 1}))
            .collect();
        assert!(
            parse_document::<NewOrder>(json!({"items": too_many, "shipping_address": address()})).is_err()
        );
        assert!(parse_document::<NewOrder>(json!({"items": [], "shipping_address": address()})).is_err());
    }

    fn catalogue(products: &[(i64, &[i64], bool)]) -> (Vec<ProductId>, HashMap<ProductId, ProductState>) {
        use crate::model::products::{Category, ProductRecord, RatingTotals, StockCounter};
        let mut ids = Vec::new();
        let mut catalogue = HashMap::new();
        for (i, &(price, stocks, for_sale)) in products.iter().enumerate() {
            let id = ProductId::new();
            let record = ProductRecord {
                id: id.clone(),
                name: format!("product {i}"),
                description: String::new(),
                category: Category::parse("things".into()).expect("valid"),
                price: Money::new(price).expect("valid"),
                currency: Currency::parse("USD".into()).expect("valid"),
                prices: [(currency("EUR"), Money::new(price * 9 / 10).expect("valid"))].into(),
                weight_grams: 0,
                tax_category: Default::default(),
                hs_code: None,
                origin_country: None,
                prices_rev: 2,
                created_at: Timestamp::from_unix(0),
                updated_at: Timestamp::from_unix(0),
                deleted_at: (!for_sale).then(|| Timestamp::from_unix(1)),
                stock_counters: u8::try_from(stocks.len()).expect("few"),
                low_stock_threshold: None,
                low_stock: None,
                low_stock_alerts: 0,
            };
            let counters = stocks
                .iter()
                .enumerate()
                .map(|(i, &stock)| StockCounter {
                    index: u8::try_from(i).expect("few"),
                    stock,
                    rating: RatingTotals::default(),
                    sold: 0,
                })
                .collect();
            let state = ProductState { record, counters };
            catalogue.insert(id.clone(), state);
            ids.push(id);
        }
        (ids, catalogue)
    }

    fn request(lines: &[(&ProductId, u32)]) -> NewOrder {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, quantity)| json!({"product_id": id.to_string(), "quantity": quantity}))
            .collect();
        parse_document(json!({"items": items, "shipping_address": address()})).expect("valid")
    }

    fn no_markets() -> Setup {
        Setup {
            markets: Vec::new(),
            rates: crate::model::fx::FxRates::none(currency("USD")),
            tax: Default::default(),
            duties: Default::default(),
            promotions: Vec::new(),
        }
    }

    fn price(input: &NewOrder, catalogue: &HashMap<ProductId, ProductState>) -> Result<Order, Error> {
        price_in(input, catalogue, &no_markets())
    }

    fn price_in(
        input: &NewOrder,
        catalogue: &HashMap<ProductId, ProductState>,
        setup: &Setup,
    ) -> Result<Order, Error> {
        price_order(
            input,
            catalogue,
            &BTreeMap::new(),
            OrderTerms {
                id: OrderId::new(),
                user_id: UserId::new(),
                setup,
                base: currency("USD"),
                store_country: &CountryCode::strict("US".into()).expect("valid"),
                now: Timestamp::from_unix(1_000),
                ttl_secs: 1800,
                spread: 0,
            },
        )
    }

    /// A market of Germany selling in `code` at `rate` per USD (none: no
    /// rate).
    fn market_list(code: &str, rate: Option<&str>, rounding: &str) -> Setup {
        use crate::model::fx::{FxRates, QuotedRate, Rate, RateSource};
        use crate::model::markets::{Market, MarketSettings};
        let settings: MarketSettings = parse_document(json!({
            "name": code, "countries": ["DE"], "currency": code, "tax_mode": "none",
            "tax_rounding": "line", "price_rounding": rounding, "duties": "dap", "shipping_methods": []
        }))
        .expect("valid");
        let market = Market::replaced(
            MarketCode::parse("m".into()).expect("valid"),
            None,
            settings,
            Timestamp::from_unix(0),
        )
        .expect("valid");
        let mut rates = FxRates::none(currency("USD"));
        if let Some(rate) = rate {
            rates.rates.insert(
                currency(code),
                QuotedRate {
                    rate: Rate::parse(rate).expect("valid"),
                    source: RateSource::Ecb,
                    as_of: Timestamp::from_unix(0),
                },
            );
        }
        Setup {
            markets: vec![market],
            rates,
            tax: Default::default(),
            duties: Default::default(),
            promotions: Vec::new(),
        }
    }

    #[test]
    fn pricing_in_a_market_takes_explicit_prices_else_converts_and_keeps_the_rate() {
        let (ids, catalogue) = catalogue(&[(1_250, &[5], true)]);
        let input = request(&[(&ids[0], 2)]);
        let euro = price_in(&input, &catalogue, &market_list("EUR", Some("0.9"), "minor")).expect("priced");
        assert_eq!(
            (euro.currency, euro.items[0].unit_price.minor()),
            (currency("EUR"), 1_125)
        );
        assert_eq!(euro.fx, None, "an explicit price involves no rate");
        let yen = price_in(
            &input,
            &catalogue,
            &market_list("JPY", Some("155.2860215054"), "whole"),
        )
        .expect("priced");
        // 12.50 USD × 155.2860215054 = 1941.07… → ¥1,941 (no minor unit to round further).
        assert_eq!(
            (yen.items[0].unit_price.minor(), yen.total.minor()),
            (1_941, 3_882)
        );
        let fx = yen.fx.expect("converted");
        assert_eq!(
            (fx.from, fx.to, fx.rate.value().to_string().as_str()),
            (currency("USD"), currency("JPY"), "155.2860215054")
        );
        let dinar =
            price_in(&input, &catalogue, &market_list("KWD", Some("0.30712"), "charm")).expect("priced");
        // 12.50 × 0.30712 = 3.839 → 3.840, charm → 3.990 KWD.
        assert_eq!(dinar.items[0].unit_price.minor(), 3_990);
        assert!(matches!(
            price_in(&input, &catalogue, &market_list("GBP", None, "minor")),
            Err(Error::ProductUnavailable(id, Unavailable::NoPrice)) if id == ids[0]
        ));
    }

    #[test]
    fn pricing_copies_names_and_prices_and_totals_the_lines() {
        let (ids, catalogue) = catalogue(&[(1_250, &[5], true), (300, &[0, 1], true)]);
        let order = price(&request(&[(&ids[0], 2), (&ids[1], 1)]), &catalogue).expect("priced");
        assert_eq!(
            order.stock_takes,
            [
                StockTake {
                    product_id: ids[0].clone(),
                    counter: 0,
                    quantity: 2,
                    unit_price: Money::new(1_250).expect("valid"),
                    prices_rev: 2,
                },
                StockTake {
                    product_id: ids[1].clone(),
                    counter: 1,
                    quantity: 1,
                    unit_price: Money::new(300).expect("valid"),
                    prices_rev: 2,
                },
            ]
        );
        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.items[0].name, "product 0");
        assert_eq!(order.items[0].unit_price.minor(), 1_250);
        assert_eq!(order.items[0].line_total.minor(), 2_500);
        assert_eq!(order.total.minor(), 2_800);
        assert_eq!(order.expires_at, Some(Timestamp::from_unix(2_800)));
    }

    #[test]
    fn pricing_names_every_short_line_at_once() {
        let (ids, catalogue) = catalogue(&[(100, &[1], true), (100, &[4, 5], true), (100, &[0], true)]);
        let Err(Error::OutOfStock(short)) =
            price(&request(&[(&ids[0], 2), (&ids[1], 9), (&ids[2], 1)]), &catalogue)
        else {
            panic!("expected OUT_OF_STOCK")
        };
        let named: Vec<_> = short
            .iter()
            .map(|s| (&s.product_id, s.requested, s.available))
            .collect();
        assert_eq!(named, [(&ids[0], 2, 1), (&ids[2], 1, 0)]);
    }

    #[test]
    fn pricing_refuses_products_not_for_sale_before_counting_stock() {
        let (ids, catalogue) = catalogue(&[(100, &[0], true), (100, &[5], false)]);
        assert!(matches!(
            price(&request(&[(&ids[0], 1), (&ids[1], 1)]), &catalogue),
            Err(Error::ProductUnavailable(id, Unavailable::Deleted)) if id == ids[1]
        ));
        let unknown = ProductId::new();
        assert!(matches!(
            price(&request(&[(&unknown, 1)]), &catalogue),
            Err(Error::ProductUnavailable(id, Unavailable::Deleted)) if id == unknown
        ));
    }

    #[test]
    fn only_customers_order() {
        let customer = Principal {
            user_id: UserId::new(),
            role: Role::Customer,
            verified: true,
        };
        assert!(may_order(&customer).is_ok());
        let unverified = Principal {
            verified: false,
            ..customer.clone()
        };
        // An unverified customer keeps a cart, and places an order only
        // where the deployment allows it.
        assert!(may_order(&unverified).is_ok());
        assert!(matches!(
            may_place(&unverified, true),
            Err(Error::EmailNotVerified)
        ));
        assert!(may_place(&unverified, false).is_ok());
        assert!(may_place(&customer, true).is_ok());
        let admin = Principal {
            role: Role::Admin,
            ..customer
        };
        assert!(matches!(may_order(&admin), Err(Error::Forbidden)));
        assert!(matches!(may_place(&admin, false), Err(Error::Forbidden)));
    }
}
