//! Payments: the payment of an order, the marks of its hand-offs, and how
//! the provider's events apply to an order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
pub use crate::foundation::ids::PaymentId;
use crate::foundation::money::{Currency, Money};
use crate::foundation::status::OrderStatus;
use crate::model::orders::{Event, Order, next_status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    RequiresPayment,
    Succeeded,
    Refunded,
}

/// A payment as the API shows it (its owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub provider: String,
    pub provider_payment_id: String,
    pub amount: Money,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub client_secret: Option<String>,
    pub created_at: Timestamp,
}

/// A payment with what only the shop needs to know about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub payment: Payment,
    /// When `payment_confirmed` reached the shipping queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_handoff_at: Option<Timestamp>,
    /// When `refund_requested` reached the refunds queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_handoff_at: Option<Timestamp>,
    /// The payment succeeded after the order had been cancelled.
    #[serde(default)]
    pub paid_late: bool,
    /// Set when a refund is asked for: whether it gives the stock back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_restock: Option<bool>,
    /// The provider's refund, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Why the provider refused the refund, for an operator to look at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_error: Option<String>,
}

impl PaymentRecord {
    /// A payment just started: no hand-off, no refund.
    pub fn new(payment: Payment) -> Self {
        Self {
            payment,
            shipping_handoff_at: None,
            refund_handoff_at: None,
            paid_late: false,
            refund_restock: None,
            refund_id: None,
            refund_error: None,
        }
    }

    /// A paid order goes to shipping until a send has gone through.
    pub fn owes_shipping_handoff(&self, status: OrderStatus) -> bool {
        status == OrderStatus::Paid && self.shipping_handoff_at.is_none()
    }

    /// A late payment (now or before) goes to refunds until a send has gone
    /// through.
    pub fn owes_late_refund_handoff(&self, status: OrderStatus, paid_late_now: bool) -> bool {
        status == OrderStatus::RefundPending
            && (self.paid_late || paid_late_now)
            && self.refund_handoff_at.is_none()
    }
}

/// A hand-off a payment still owes: a message its order's state calls for
/// that has not reached its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    /// `payment_confirmed` to shipping.
    Shipping,
    /// `refund_requested` to refunds, restocking or not.
    Refund { restock: bool },
}

impl PaymentRecord {
    /// What this payment owes for an order in `status`, if anything.
    pub fn owed_handoff(&self, status: OrderStatus) -> Option<Owed> {
        if self.owes_shipping_handoff(status) {
            return Some(Owed::Shipping);
        }
        (status == OrderStatus::RefundPending
            && self.refund_handoff_at.is_none()
            && self.refund_error.is_none())
        .then_some(Owed::Refund {
            restock: self.refund_restock.unwrap_or(false),
        })
    }
}

/// Where a succeeded payment moves an order in `from`: `PAID`, or
/// `REFUND_PENDING` when it had been cancelled (a late payment); `None`
/// when it has moved past both.
pub fn status_on_payment(from: OrderStatus) -> Option<OrderStatus> {
    next_status(from, Event::Pay).or_else(|| next_status(from, Event::PayLate))
}

/// A payment for an order in `from` is late: the order was cancelled, and
/// its stock went back then, so the refund restocks nothing.
pub fn is_late(from: OrderStatus) -> bool {
    from == OrderStatus::Cancelled
}

// ---------------------------------------------------------------- provider events

/// A provider event as far as the shop acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// `payment_intent.succeeded`.
    PaymentSucceeded(SucceededIntent),
    /// Any other type, acknowledged and not acted on.
    Other(String),
}

/// A payment intent that collected money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SucceededIntent {
    pub id: String,
    pub amount_received: i64,
    pub currency: String,
    /// The order named in its metadata, if any (and if it is an order id).
    pub order_id: Option<OrderId>,
}

#[derive(Deserialize)]
struct EventEnvelope {
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct PaymentIntentObject {
    id: String,
    amount_received: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

/// Reads a (verified) provider event: Stripe's event JSON.
pub fn parse_event(body: &[u8]) -> Result<ProviderEvent, Error> {
    let event: EventEnvelope =
        serde_json::from_slice(body).map_err(|_| Error::invalid("body", "is not a provider event"))?;
    if event.kind != "payment_intent.succeeded" {
        return Ok(ProviderEvent::Other(event.kind));
    }
    let intent: PaymentIntentObject = serde_json::from_value(event.data.object)
        .map_err(|_| Error::invalid("data.object", "is not a payment intent"))?;
    Ok(ProviderEvent::PaymentSucceeded(SucceededIntent {
        order_id: intent
            .metadata
            .get("order_id")
            .and_then(|id| OrderId::parse(id).ok()),
        id: intent.id,
        amount_received: intent.amount_received,
        currency: intent.currency,
    }))
}

/// Whether `intent` pays `order` through its `payment`: the order's own
/// intent, for the order's total in its currency. `Err` says why not (the
/// delivery is then acknowledged and logged: retrying cannot fix it).
pub fn check_intent(intent: &SucceededIntent, order: &Order, payment: &Payment) -> Result<(), &'static str> {
    if payment.provider_payment_id != intent.id {
        return Err("the intent is not the order's payment");
    }
    if intent.amount_received != order.total.minor()
        || !intent.currency.eq_ignore_ascii_case(order.currency.as_str())
    {
        return Err("amount or currency does not match the order");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn succeeded() -> Payment {
        Payment {
            id: PaymentId::new(),
            order_id: OrderId::new(),
            provider: "sandbox".into(),
            provider_payment_id: "pi_1".into(),
            amount: Money::new(100).expect("valid"),
            currency: Currency::parse("USD".into()).expect("valid"),
            status: PaymentStatus::Succeeded,
            client_secret: None,
            created_at: Timestamp::from_unix(0),
        }
    }

    #[test]
    fn a_payment_owes_the_hand_off_its_order_calls_for_until_it_went() {
        use OrderStatus::*;
        let record = |edit: fn(&mut PaymentRecord)| {
            let mut record = PaymentRecord::new(succeeded());
            edit(&mut record);
            record
        };
        assert_eq!(record(|_| {}).owed_handoff(Paid), Some(Owed::Shipping));
        assert_eq!(
            record(|r| r.shipping_handoff_at = Some(Timestamp::now())).owed_handoff(Paid),
            None
        );
        assert_eq!(record(|_| {}).owed_handoff(Shipped), None);
        assert_eq!(
            record(|r| r.refund_restock = Some(true)).owed_handoff(RefundPending),
            Some(Owed::Refund { restock: true })
        );
        assert_eq!(
            record(|r| r.refund_handoff_at = Some(Timestamp::now())).owed_handoff(RefundPending),
            None
        );
        assert_eq!(
            record(|r| r.refund_error = Some("no".into())).owed_handoff(RefundPending),
            None
        );
        assert_eq!(record(|_| {}).owed_handoff(Refunded), None);
    }

    #[test]
    fn payments_apply_to_unpaid_and_cancelled_orders_only() {
        use OrderStatus::*;
        let applied: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter_map(|from| status_on_payment(from).map(|to| (from, to)))
            .collect();
        assert_eq!(applied, [(PendingPayment, Paid), (Cancelled, RefundPending)]);
        assert!(is_late(Cancelled) && !is_late(PendingPayment));
    }

    #[test]
    fn provider_events_are_read_for_what_the_shop_needs() {
        let order = OrderId::new();
        let body = json!({"type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_1", "amount_received": 2500, "currency": "usd",
            "metadata": {"order_id": order.to_string()}
        }}});
        assert_eq!(
            parse_event(body.to_string().as_bytes()).expect("parsed"),
            ProviderEvent::PaymentSucceeded(SucceededIntent {
                id: "pi_1".into(),
                amount_received: 2500,
                currency: "usd".into(),
                order_id: Some(order),
            })
        );
        let other = json!({"type": "charge.refunded", "data": {"object": {}}});
        assert_eq!(
            parse_event(other.to_string().as_bytes()).expect("parsed"),
            ProviderEvent::Other("charge.refunded".into())
        );
        let no_order = json!({"type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_2", "amount_received": 1, "currency": "usd", "metadata": {"order_id": "nope"}
        }}});
        assert!(matches!(
            parse_event(no_order.to_string().as_bytes()),
            Ok(ProviderEvent::PaymentSucceeded(SucceededIntent {
                order_id: None,
                ..
            }))
        ));
        assert!(parse_event(b"not json").is_err());
        let not_intent = json!({"type": "payment_intent.succeeded", "data": {"object": {"id": 5}}});
        assert!(parse_event(not_intent.to_string().as_bytes()).is_err());
    }

    #[test]
    fn hand_offs_are_owed_until_a_send_went_through() {
        let mut record = PaymentRecord::new(succeeded());
        assert!(record.owes_shipping_handoff(OrderStatus::Paid));
        assert!(!record.owes_shipping_handoff(OrderStatus::Shipped));
        assert!(!record.owes_late_refund_handoff(OrderStatus::RefundPending, false));
        assert!(record.owes_late_refund_handoff(OrderStatus::RefundPending, true));
        record.shipping_handoff_at = Some(Timestamp::from_unix(1));
        record.paid_late = true;
        assert!(!record.owes_shipping_handoff(OrderStatus::Paid));
        assert!(record.owes_late_refund_handoff(OrderStatus::RefundPending, false));
        record.refund_handoff_at = Some(Timestamp::from_unix(2));
        assert!(!record.owes_late_refund_handoff(OrderStatus::RefundPending, false));
    }
}
