//! Orders: placing them with atomic stock reservation, reading and listing
//! them, cancellation and expiry, and the one state machine every writer
//! of an order's status goes through.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::auth::{Principal, Role};
use crate::clock::Timestamp;
use crate::cursor::Page;
use crate::error::Error;
use crate::input::{Errors, FromJson, Object};
use crate::money::{Currency, Money};
use crate::newtype::uuid_id;
use crate::products::ProductId;
use crate::users::{Address, UserId};

pub const MAX_LINES: usize = 50;
pub const MAX_QUANTITY: u32 = 100;

uuid_id!(OrderId, "an order id");

pub fn parse_id(raw: &str) -> Result<OrderId, Error> {
    OrderId::parse(raw).map_err(|_| Error::NotFound)
}

// ---------------------------------------------------------------- status

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    RefundPending,
    Refunded,
    ReturnRequested,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "PENDING_PAYMENT",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::RefundPending => "REFUND_PENDING",
            Self::Refunded => "REFUNDED",
            Self::ReturnRequested => "RETURN_REQUESTED",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
}

/// The order state machine (API.md "Order status"): the status `event` leads
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
        _ => None,
    }
}

/// [`next_status`], as the API's `409 INVALID_STATE` when not allowed.
pub fn transition(from: OrderStatus, event: Event) -> Result<OrderStatus, Error> {
    next_status(from, event).ok_or(Error::InvalidState(from))
}

// ---------------------------------------------------------------- values

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub items: Vec<OrderLine>,
    pub total: Money,
    pub currency: Currency,
    pub shipping_address: Address,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub paid_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

impl Order {
    /// Whether `caller` may see and act on this order as its owner or an admin.
    pub fn visible_to(&self, caller: &Principal) -> bool {
        caller.is_admin() || self.user_id == caller.user_id
    }
}

/// One line of an order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub product_id: ProductId,
    pub quantity: u32,
}

impl FromJson for LineRequest {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let product_id = o.required("product_id", |s: String| ProductId::parse(&s));
        let quantity = o.required("quantity", |n: u32| {
            if (1..=MAX_QUANTITY).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from 1 to {MAX_QUANTITY}"))
            }
        });
        o.end();
        Some(Self {
            product_id: product_id?,
            quantity: quantity?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub items: Vec<LineRequest>,
    pub shipping_address: Address,
}

impl FromJson for NewOrder {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let items: Option<Vec<LineRequest>> = o.required_list("items", 1, MAX_LINES);
        let shipping_address = o.required_nested("shipping_address");
        o.end();
        let items = items?;
        let mut seen = HashSet::new();
        let mut duplicate = false;
        for (i, line) in items.iter().enumerate() {
            if !seen.insert(&line.product_id) {
                errors.push(crate::FieldError {
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
        })
    }
}

/// A line the catalogue could not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub product_id: ProductId,
    pub requested: u32,
    pub available: i64,
}

/// What an expiry run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Orders that were paid or cancelled between the listing and the write.
    pub skipped: usize,
}

// ---------------------------------------------------------------- use cases

/// Places an order with id `id`: prices from the catalogue, every line's
/// stock reserved atomically with the order, or nothing changed.
pub async fn place_order(
    app: &App,
    caller: &Principal,
    input: NewOrder,
    id: OrderId,
) -> Result<Order, Error> {
    if caller.role != Role::Customer {
        return Err(Error::Forbidden);
    }
    app.store
        .place_order(
            id,
            caller.user_id.clone(),
            input,
            &app.config.store_currency,
            app.config.order_ttl_secs,
        )
        .await
}

/// The order, if the caller may see it; otherwise `NOT_FOUND`.
pub async fn get_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    match app.store.get_order(id).await? {
        Some(order) if order.visible_to(caller) => Ok(order),
        _ => Err(Error::NotFound),
    }
}

/// The caller's own orders, newest first.
pub async fn list_orders(
    app: &App,
    caller: &Principal,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Order>, Error> {
    app.store
        .list_orders(app.config.jwt_secret()?, &caller.user_id, limit, cursor)
        .await
}

/// Cancels an unpaid order and releases its stock, exactly once.
pub async fn cancel_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    let order = get_order(app, caller, id).await?;
    let to = transition(order.status, Event::Cancel)?;
    app.store.release_order(&order, to, Timestamp::now(), None).await
}

/// Cancels every order still unpaid at `now`, releasing its stock. Safe to
/// run twice, or beside a cancel or a payment: each release is conditional
/// on the order still awaiting payment.
pub async fn expire_orders(app: &App, now: Timestamp) -> Result<ExpiryReport, Error> {
    let mut report = ExpiryReport::default();
    for order in app.store.orders_due_for_expiry(now).await? {
        let Some(to) = next_status(order.status, Event::Expire) else {
            report.skipped += 1;
            continue;
        };
        match app.store.release_order(&order, to, now, Some(now)).await {
            Ok(_) => report.expired += 1,
            Err(Error::InvalidState(_)) => report.skipped += 1,
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::input::parse_document;

    const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::RefundPending,
        OrderStatus::Refunded,
        OrderStatus::ReturnRequested,
    ];

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
                (Shipped, Event::Deliver, Delivered),
                (Shipped, Event::Refund { by_admin: true }, RefundPending),
                (Delivered, Event::Refund { by_admin: true }, RefundPending),
                (Delivered, Event::Return, ReturnRequested),
                (Cancelled, Event::PayLate, RefundPending),
                (RefundPending, Event::Refunded, Refunded),
                (ReturnRequested, Event::ReceiveReturn, RefundPending),
            ]
        );
        assert!(matches!(
            transition(Shipped, Event::Cancel),
            Err(Error::InvalidState(Shipped))
        ));
    }

    #[test]
    fn statuses_serialise_as_the_api_spells_them() {
        for status in ALL {
            assert_eq!(
                serde_json::to_value(status).expect("json"),
                json!(status.as_str())
            );
        }
    }

    fn address() -> Value {
        json!({"name": "A", "line1": "1 Road", "city": "X", "postal_code": "1", "country": "DE"})
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
}
