//! Payments: the payment of an order, the marks of its hand-offs, and how
//! the provider's events apply to an order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
pub use crate::foundation::ids::PaymentId;
use crate::foundation::input::{integral_numbers, outside_id};
use crate::foundation::money::{Currency, Money};
use crate::foundation::newtype::string_newtype;
use crate::foundation::status::OrderStatus;
use crate::model::orders::{DisputeStatus, Event, Order, next_status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    RequiresPayment,
    Succeeded,
    Refunded,
}

/// The payment provider a payment went through (`PAYMENT_PROVIDER`),
/// shown and stored as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Stripe,
    Sandbox,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Sandbox => "sandbox",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "stripe" => Ok(Self::Stripe),
            "sandbox" => Ok(Self::Sandbox),
            other => Err(format!("{other:?} is neither stripe nor sandbox")),
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment as the API shows it (its owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub provider: ProviderKind,
    pub provider_payment_id: ProviderPaymentId,
    pub amount: Money,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub client_secret: Option<String>,
    pub created_at: Timestamp,
}

/// A payment with what only the shop needs to know about it.
///
/// Stored as it always was, flat (`StoredRecord`: `refund_restock`,
/// `refund_handoff_at`, `refund_error`, `refund_id`,
/// `refunded_at_provider` beside the payment's fields), and read into
/// [`RefundState`], so that no two refund states are held at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredRecord", into = "StoredRecord")]
pub struct PaymentRecord {
    pub payment: Payment,
    /// When `payment_confirmed` reached the shipping queue.
    pub shipping_handoff_at: Option<Timestamp>,
    /// The payment succeeded after the order had been cancelled.
    pub paid_late: bool,
    /// Where its refund stands.
    pub refund: RefundState,
    /// Refunds tried after the first (an operator's retries): each try has
    /// an idempotency key of its own, so the provider does not answer a
    /// retry with the failed refund it made before.
    pub refund_attempt: u32,
    /// Why the last attempt to pay failed (a declined card), if one did.
    pub last_failure: Option<String>,
}

/// Where a payment's refund stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    /// None asked for.
    None,
    /// Asked for (by an admin, a return, or a late payment), giving the
    /// stock back or not; `handed_off_at` once its request reached the
    /// refunds queue (until then the hand-off is owed).
    Requested {
        restock: bool,
        handed_off_at: Option<Timestamp>,
    },
    /// The provider refused it for good: the reason, for an operator, who
    /// may try again (`shopctl refunds retry`).
    Refused { restock: bool, reason: String },
    /// Made: by the refunds worker (the provider's refund id), or at the
    /// provider (its dashboard).
    Made { restock: bool, refund: MadeRefund },
}

/// Who made a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MadeRefund {
    /// The refunds worker: the provider's refund id.
    Ours(String),
    /// Someone at the provider.
    AtProvider,
}

impl RefundState {
    /// Whether a refund gives (or gave) the stock back; `false` when none
    /// was asked.
    pub fn restocks(&self) -> bool {
        match self {
            Self::None => false,
            Self::Requested { restock, .. } | Self::Refused { restock, .. } | Self::Made { restock, .. } => {
                *restock
            }
        }
    }

    /// The provider's id of the refund the shop made, if it made one.
    pub fn refund_id(&self) -> Option<&str> {
        match self {
            Self::Made {
                refund: MadeRefund::Ours(id),
                ..
            } => Some(id),
            _ => None,
        }
    }

    /// Why the provider refused it, if it did.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Self::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// A payment record as the table holds it (the form it always had).
#[derive(Serialize, Deserialize)]
struct StoredRecord {
    #[serde(flatten)]
    payment: Payment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipping_handoff_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refund_handoff_at: Option<Timestamp>,
    #[serde(default)]
    paid_late: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refund_restock: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    refunded_at_provider: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refund_error: Option<String>,
    #[serde(default)]
    refund_attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_failure: Option<String>,
}

impl From<StoredRecord> for PaymentRecord {
    /// A refused refund is refused whatever else is stored (a refund that
    /// failed after it was made keeps its id); a refunded payment's refund
    /// is made; a refund asked for has its `refund_restock`.
    fn from(stored: StoredRecord) -> Self {
        let restock = stored.refund_restock.unwrap_or(false);
        let refund = if let Some(reason) = stored.refund_error {
            RefundState::Refused { restock, reason }
        } else if stored.payment.status == PaymentStatus::Refunded {
            RefundState::Made {
                restock,
                refund: match stored.refund_id {
                    Some(id) if !stored.refunded_at_provider => MadeRefund::Ours(id),
                    _ => MadeRefund::AtProvider,
                },
            }
        } else if let Some(restock) = stored.refund_restock {
            RefundState::Requested {
                restock,
                handed_off_at: stored.refund_handoff_at,
            }
        } else {
            RefundState::None
        };
        Self {
            payment: stored.payment,
            shipping_handoff_at: stored.shipping_handoff_at,
            paid_late: stored.paid_late,
            refund,
            refund_attempt: stored.refund_attempt,
            last_failure: stored.last_failure,
        }
    }
}

impl From<PaymentRecord> for StoredRecord {
    fn from(record: PaymentRecord) -> Self {
        let restock = match record.refund {
            RefundState::None => None,
            _ => Some(record.refund.restocks()),
        };
        let (refund_handoff_at, refund_id, refunded_at_provider, refund_error) = match record.refund {
            RefundState::None => (None, None, false, None),
            RefundState::Requested { handed_off_at, .. } => (handed_off_at, None, false, None),
            RefundState::Refused { reason, .. } => (None, None, false, Some(reason)),
            RefundState::Made {
                refund: MadeRefund::Ours(id),
                ..
            } => (None, Some(id), false, None),
            RefundState::Made {
                refund: MadeRefund::AtProvider,
                ..
            } => (None, None, true, None),
        };
        Self {
            payment: record.payment,
            shipping_handoff_at: record.shipping_handoff_at,
            refund_handoff_at,
            paid_late: record.paid_late,
            refund_restock: restock,
            refund_id,
            refunded_at_provider,
            refund_error,
            refund_attempt: record.refund_attempt,
            last_failure: record.last_failure,
        }
    }
}

impl PaymentRecord {
    /// A payment just started: no hand-off, no refund.
    pub fn new(payment: Payment) -> Self {
        Self {
            payment,
            shipping_handoff_at: None,
            paid_late: false,
            refund: RefundState::None,
            refund_attempt: 0,
            last_failure: None,
        }
    }

    /// A paid order goes to shipping until a send has gone through.
    pub fn owes_shipping_handoff(&self, status: OrderStatus) -> bool {
        status == OrderStatus::Paid && self.shipping_handoff_at.is_none()
    }

    /// A late payment (now or before) goes to refunds until a send has gone
    /// through.
    pub fn owes_late_refund_handoff(&self, status: OrderStatus, paid_late_now: bool) -> bool {
        status == OrderStatus::RefundPending && (self.paid_late || paid_late_now) && self.refund_owed()
    }

    /// A refund asked for whose request has not reached the refunds queue
    /// (a late payment's, read before its refund was recorded, counts).
    fn refund_owed(&self) -> bool {
        matches!(
            self.refund,
            RefundState::None
                | RefundState::Requested {
                    handed_off_at: None,
                    ..
                }
        )
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
        (status == OrderStatus::RefundPending && self.refund_owed()).then_some(Owed::Refund {
            restock: self.refund.restocks(),
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

/// One delivery of the provider's webhook: its event id (deliveries of one
/// event share it) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: WebhookEventId,
    pub event: ProviderEvent,
}

/// A provider event as far as the shop acts on it. Every kind but the
/// success of an intent names the intent it is about; the shop finds the
/// order from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// `payment_intent.succeeded`.
    PaymentSucceeded(SucceededIntent),
    /// `payment_intent.payment_failed`: an attempt failed (a declined
    /// card); the order stays payable.
    PaymentFailed {
        intent: ProviderPaymentId,
        reason: String,
    },
    /// `payment_intent.processing`: a payment that settles later. The shop
    /// only asks for cards, which settle at once; one that still arrives is
    /// noted, the order's expiry still runs, and a late success is refunded.
    PaymentProcessing { intent: ProviderPaymentId },
    /// `charge.refunded`: money went back, through the shop or not.
    /// `full` when the whole charge is refunded.
    ChargeRefunded {
        intent: ProviderPaymentId,
        full: bool,
        amount_refunded: i64,
    },
    /// `charge.dispute.created` and `charge.dispute.updated`/`closed`.
    Dispute {
        intent: ProviderPaymentId,
        dispute: DisputeReport,
    },
    /// `charge.refund.updated` or `refund.failed` with a `failed` refund:
    /// the provider accepted it and could not carry it out.
    RefundFailed {
        intent: ProviderPaymentId,
        refund: String,
        reason: String,
    },
    /// Any other type or state, acknowledged and not acted on.
    Other(String),
}

/// A dispute as an event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeReport {
    pub id: String,
    pub reason: String,
    pub status: DisputeStatus,
}

/// The metadata key naming the order an intent pays for: namespaced, so
/// that another integration on the same provider account that writes its
/// own `order_id` is never read as ours. Informative only: an intent is the
/// shop's when the shop stored it (`INTENT#<id>`), whatever its metadata.
pub const ORDER_METADATA_KEY: &str = "shop_order_id";

/// A payment intent that collected money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SucceededIntent {
    pub id: ProviderPaymentId,
    pub amount_received: i64,
    pub currency: String,
    /// The order named in its metadata, if any (and if it is an order id).
    pub order_id: Option<OrderId>,
}

#[derive(Deserialize)]
struct EventEnvelope {
    id: String,
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
    #[serde(default)]
    amount_received: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    last_payment_error: Option<PaymentError>,
}

#[derive(Deserialize)]
struct PaymentError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ChargeObject {
    payment_intent: Option<String>,
    amount: i64,
    amount_refunded: i64,
    #[serde(default)]
    refunded: bool,
}

#[derive(Deserialize)]
struct DisputeObject {
    id: String,
    payment_intent: Option<String>,
    #[serde(default)]
    reason: String,
    status: String,
}

#[derive(Deserialize)]
struct RefundObject {
    id: String,
    payment_intent: Option<String>,
    status: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
}

fn object<T: for<'de> Deserialize<'de>>(value: serde_json::Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|_| Error::invalid("data.object", format!("is not {what}")))
}

/// The provider's ids (events, intents, charges, refunds, disputes): 1 to
/// 255 ASCII letters, digits, `_` or `-`, as Stripe makes them
/// ([`outside_id`]).
fn provider_id(id: String, field: &str) -> Result<String, Error> {
    outside_id(id, 255).map_err(|_| Error::invalid(field, "is not a provider id"))
}

/// The intent an event's object is about, checked.
fn intent_id(id: String, field: &str) -> Result<ProviderPaymentId, Error> {
    ProviderPaymentId::parse(id).map_err(|_| Error::invalid(field, "is not a provider id"))
}

fn intent_of(payment_intent: Option<String>) -> Result<Option<ProviderPaymentId>, Error> {
    payment_intent
        .map(|id| intent_id(id, "data.object.payment_intent"))
        .transpose()
}

/// Reads a (verified) provider event: Stripe's event JSON.
pub fn parse_event(body: &[u8]) -> Result<Delivery, Error> {
    let not_an_event = || Error::invalid("body", "is not a provider event");
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| not_an_event())?;
    let envelope: EventEnvelope =
        serde_json::from_value(integral_numbers(value)).map_err(|_| not_an_event())?;
    let id =
        WebhookEventId::provider(envelope.id).map_err(|_| Error::invalid("id", "is not a provider id"))?;
    let data = envelope.data.object;
    let kind = envelope.kind;
    // Charges, refunds and disputes without a payment intent were not made
    // through the shop's intents: none of its business.
    let other = || ProviderEvent::Other(format!("{kind} without a payment intent"));
    let event = match kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: PaymentIntentObject = object(data, "a payment intent")?;
            ProviderEvent::PaymentSucceeded(SucceededIntent {
                order_id: intent
                    .metadata
                    .get(ORDER_METADATA_KEY)
                    .and_then(|id| OrderId::parse(id).ok()),
                id: intent_id(intent.id, "data.object.id")?,
                amount_received: intent.amount_received,
                currency: intent.currency,
            })
        }
        "payment_intent.payment_failed" => {
            let intent: PaymentIntentObject = object(data, "a payment intent")?;
            let error = intent.last_payment_error;
            let reason = error
                .and_then(|e| e.decline_code.or(e.code).or(e.message))
                .unwrap_or_else(|| "unknown".into());
            ProviderEvent::PaymentFailed {
                intent: intent_id(intent.id, "data.object.id")?,
                reason: reason.chars().take(200).collect(),
            }
        }
        "payment_intent.processing" => {
            let intent: PaymentIntentObject = object(data, "a payment intent")?;
            ProviderEvent::PaymentProcessing {
                intent: intent_id(intent.id, "data.object.id")?,
            }
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(data, "a charge")?;
            let Some(intent) = intent_of(charge.payment_intent)? else {
                return Ok(Delivery { id, event: other() });
            };
            ProviderEvent::ChargeRefunded {
                intent,
                full: charge.refunded || charge.amount_refunded >= charge.amount,
                amount_refunded: charge.amount_refunded,
            }
        }
        "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed" => {
            let dispute: DisputeObject = object(data, "a dispute")?;
            let dispute_id = provider_id(dispute.id, "data.object.id")?;
            let Some(intent) = intent_of(dispute.payment_intent)? else {
                return Ok(Delivery { id, event: other() });
            };
            ProviderEvent::Dispute {
                intent,
                dispute: DisputeReport {
                    id: dispute_id,
                    reason: dispute.reason.chars().take(100).collect(),
                    status: DisputeStatus::from(dispute.status.chars().take(50).collect::<String>()),
                },
            }
        }
        "charge.refund.updated" | "refund.updated" | "refund.failed" => {
            let refund: RefundObject = object(data, "a refund")?;
            let refund_id = provider_id(refund.id, "data.object.id")?;
            let Some(intent) = intent_of(refund.payment_intent)? else {
                return Ok(Delivery { id, event: other() });
            };
            if refund.status.as_deref() != Some("failed") {
                return Ok(Delivery {
                    id,
                    event: ProviderEvent::Other(kind),
                });
            }
            ProviderEvent::RefundFailed {
                intent,
                refund: refund_id,
                reason: refund
                    .failure_reason
                    .unwrap_or_else(|| "unknown".into())
                    .chars()
                    .take(200)
                    .collect(),
            }
        }
        _ => ProviderEvent::Other(kind.clone()),
    };
    Ok(Delivery { id, event })
}

/// The provider idempotency key of a payment's refund: one per attempt.
pub fn refund_key(order: &OrderId, attempt: u32) -> String {
    match attempt {
        0 => format!("shop-order-{order}-refund"),
        n => format!("shop-order-{order}-refund-{n}"),
    }
}

/// What a refund made at the provider does to an order in `from`: the
/// status it leads to and whether the stock comes back (nothing left the
/// warehouse: the order was paid and not shipped, or a refund that restocks
/// was pending). `None` when the order cannot take it: not paid yet (the
/// event came before its payment's) or refunded already.
pub fn refund_at_provider(from: OrderStatus, record: &PaymentRecord) -> Option<(OrderStatus, bool)> {
    let to = next_status(from, Event::RefundedAtProvider)?;
    let restock = match from {
        OrderStatus::Paid => true,
        OrderStatus::RefundPending => record.refund.restocks(),
        _ => false,
    };
    Some((to, restock))
}

/// Whether `intent` pays `order` through its `payment`: the order's own
/// intent, for the order's total in its currency. `Err` says why not (the
/// delivery is then acknowledged and logged: retrying cannot fix it).
pub fn check_intent(intent: &SucceededIntent, order: &Order, payment: &Payment) -> Result<(), &'static str> {
    if payment.provider_payment_id != intent.id {
        return Err("the intent is not the order's payment");
    }
    // The provider's units: ¥500 is 500, 10 ISK is 1,000.
    let expected = order
        .total
        .of(order.currency)
        .ok()
        .and_then(|total| crate::model::charges::provider_units(total).ok());
    if Some(intent.amount_received) != expected
        || !intent.currency.eq_ignore_ascii_case(order.currency.as_str())
    {
        return Err("amount or currency does not match the order");
    }
    Ok(())
}

/// The payment provider's id of a payment it holds for the shop (Stripe's
/// PaymentIntent id): an outside id ([`outside_id`]), checked where it
/// enters (the provider's answer, an event, the table) and a key part
/// (`INTENT#<id>`) after.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderPaymentId(String);

impl ProviderPaymentId {
    pub fn parse(id: String) -> Result<Self, String> {
        outside_id(id, OUTSIDE_ID_MAX).map(Self)
    }
}

string_newtype!(ProviderPaymentId);

/// An event an outside system delivered to a webhook, remembered once
/// handled (`EVENT#<id>`): the payment provider's event id as it is, the
/// carrier's under `carrier:`, so that the two never meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookEventId(String);

impl WebhookEventId {
    /// The payment provider's event id.
    pub fn provider(id: String) -> Result<Self, String> {
        outside_id(id, OUTSIDE_ID_MAX).map(Self)
    }

    /// The carrier's event id.
    pub fn carrier(id: &str) -> Result<Self, String> {
        outside_id(id.to_owned(), OUTSIDE_ID_MAX).map(|id| Self(format!("carrier:{id}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest id an outside system may give (Stripe's are far shorter):
/// bounded so that a key part stays well inside DynamoDB's 2,048 bytes.
const OUTSIDE_ID_MAX: usize = 255;

impl std::fmt::Display for ProviderPaymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for WebhookEventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod provider_id_tests {
    use super::*;

    #[test]
    fn provider_and_carrier_event_ids_never_meet() {
        let provider = WebhookEventId::provider("evt_1".into()).expect("valid");
        let carrier = WebhookEventId::carrier("evt_1").expect("valid");
        assert_ne!(provider, carrier);
        assert_eq!(carrier.as_str(), "carrier:evt_1");
        // A provider id cannot be spelt like a carrier's.
        assert!(WebhookEventId::provider("carrier:evt_1".into()).is_err());
        for bad in ["", "pi 1", "pi#1", &"p".repeat(256)] {
            assert!(ProviderPaymentId::parse(bad.into()).is_err(), "{bad:?}");
            assert!(WebhookEventId::carrier(bad).is_err(), "{bad:?}");
        }
        let id: ProviderPaymentId = serde_json::from_str("\"pi_3Nx\"").expect("parsed");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"pi_3Nx\"");
        assert!(serde_json::from_str::<ProviderPaymentId>("\"pi#1\"").is_err());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pi(id: &str) -> ProviderPaymentId {
        ProviderPaymentId::parse(id.into()).expect("a valid id")
    }

    fn succeeded() -> Payment {
        Payment {
            id: PaymentId::new(),
            order_id: OrderId::new(),
            provider: ProviderKind::Sandbox,
            provider_payment_id: pi("pi_1"),
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
            record(|r| {
                r.refund = RefundState::Requested {
                    restock: true,
                    handed_off_at: None,
                }
            })
            .owed_handoff(RefundPending),
            Some(Owed::Refund { restock: true })
        );
        assert_eq!(
            record(|r| {
                r.refund = RefundState::Requested {
                    restock: false,
                    handed_off_at: Some(Timestamp::now()),
                }
            })
            .owed_handoff(RefundPending),
            None
        );
        assert_eq!(
            record(|r| {
                r.refund = RefundState::Refused {
                    restock: false,
                    reason: "no".into(),
                }
            })
            .owed_handoff(RefundPending),
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

    fn read(kind: &str, object: serde_json::Value) -> Result<ProviderEvent, Error> {
        let body = json!({"id": "evt_1", "object": "event", "type": kind, "data": {"object": object}});
        parse_event(body.to_string().as_bytes()).map(|delivery| {
            assert_eq!(delivery.id.as_str(), "evt_1");
            delivery.event
        })
    }

    #[test]
    fn provider_events_are_read_for_what_the_shop_needs() {
        let order = OrderId::new();
        assert_eq!(
            read(
                "payment_intent.succeeded",
                json!({
                    "id": "pi_1", "amount_received": 2500, "currency": "usd",
                    "metadata": {"shop_order_id": order.to_string()}
                })
            )
            .expect("parsed"),
            ProviderEvent::PaymentSucceeded(SucceededIntent {
                id: pi("pi_1"),
                amount_received: 2500,
                currency: "usd".into(),
                order_id: Some(order),
            })
        );
        assert!(matches!(
            read(
                "payment_intent.succeeded",
                json!({
                    "id": "pi_2", "amount_received": 1, "currency": "usd", "metadata": {"shop_order_id": "nope"}
                })
            ),
            Ok(ProviderEvent::PaymentSucceeded(SucceededIntent {
                order_id: None,
                ..
            }))
        ));
        // Another integration's `order_id` is not ours.
        assert!(matches!(
            read(
                "payment_intent.succeeded",
                json!({
                    "id": "pi_2", "amount_received": 1, "currency": "usd",
                    "metadata": {"order_id": OrderId::new().to_string()}
                })
            ),
            Ok(ProviderEvent::PaymentSucceeded(SucceededIntent {
                order_id: None,
                ..
            }))
        ));
        assert_eq!(
            read("payment_intent.payment_failed", json!({
                "id": "pi_3", "currency": "usd", "status": "requires_payment_method",
                "last_payment_error": {"type": "card_error", "code": "card_declined",
                                       "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
            }))
            .expect("parsed"),
            ProviderEvent::PaymentFailed { intent: pi("pi_3"), reason: "insufficient_funds".into() }
        );
        assert_eq!(
            read(
                "charge.refunded",
                json!({
                    "id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount": 2500,
                    "amount_refunded": 1000, "refunded": false
                })
            )
            .expect("parsed"),
            ProviderEvent::ChargeRefunded {
                intent: pi("pi_1"),
                full: false,
                amount_refunded: 1000
            }
        );
        assert_eq!(
            read(
                "charge.dispute.created",
                json!({
                    "id": "du_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1",
                    "amount": 2500, "reason": "fraudulent", "status": "needs_response"
                })
            )
            .expect("parsed"),
            ProviderEvent::Dispute {
                intent: pi("pi_1"),
                dispute: DisputeReport {
                    id: "du_1".into(),
                    reason: "fraudulent".into(),
                    status: DisputeStatus::Open("needs_response".into())
                },
            }
        );
        let refund = |status: &str| {
            json!({
                "id": "re_1", "object": "refund", "payment_intent": "pi_1", "status": status,
                "failure_reason": "expired_or_canceled_card"
            })
        };
        assert_eq!(
            read("charge.refund.updated", refund("failed")).expect("parsed"),
            ProviderEvent::RefundFailed {
                intent: pi("pi_1"),
                refund: "re_1".into(),
                reason: "expired_or_canceled_card".into()
            }
        );
        assert_eq!(
            read("charge.refund.updated", refund("succeeded")).expect("parsed"),
            ProviderEvent::Other("charge.refund.updated".into())
        );
        assert_eq!(
            read("customer.created", json!({})).expect("parsed"),
            ProviderEvent::Other("customer.created".into())
        );
        assert!(parse_event(b"not json").is_err());
        assert!(read("payment_intent.succeeded", json!({"id": 5})).is_err());
        assert!(matches!(
            read(
                "charge.refunded",
                json!({"id": "ch_1", "amount": 1, "amount_refunded": 1})
            ),
            Ok(ProviderEvent::Other(_))
        ));
        assert!(read("charge.refunded", json!({"id": "ch_1", "payment_intent": "pi_1"})).is_err());
        // Stripe always sends the event's id; a body without one is not an event.
        let no_id = json!({"type": "customer.created", "data": {"object": {}}});
        assert!(parse_event(no_id.to_string().as_bytes()).is_err());
    }

    #[test]
    fn provider_ids_are_bounded_before_they_become_keys() {
        let event = |id: &str, intent: &str| {
            let body = json!({"id": id, "type": "payment_intent.processing",
                              "data": {"object": {"id": intent, "currency": "usd"}}});
            parse_event(body.to_string().as_bytes())
        };
        assert!(event("evt_1-a", "pi_1").is_ok());
        for bad in ["", "evt 1", "évt", "evt#1", &"e".repeat(256)] {
            assert!(event(bad, "pi_1").is_err(), "event id {bad:?} accepted");
            assert!(event("evt_1", bad).is_err(), "intent id {bad:?} accepted");
        }
        assert!(
            read(
                "charge.refunded",
                json!({"payment_intent": "pi 1", "amount": 1, "amount_refunded": 1})
            )
            .is_err()
        );
        // The delivery keeps the event's id whatever its object's id is
        // (`read` asserts it is evt_1).
        let dispute = json!({"id": "du_9", "status": "needs_response"});
        assert_eq!(
            read("charge.dispute.created", dispute).expect("parsed"),
            ProviderEvent::Other("charge.dispute.created without a payment intent".into())
        );
    }

    #[test]
    fn integral_amounts_are_amounts() {
        let intent = json!({"id": "pi_1", "amount_received": 2500.0, "currency": "usd"});
        match read("payment_intent.succeeded", intent).expect("parsed") {
            ProviderEvent::PaymentSucceeded(paid) => assert_eq!(paid.amount_received, 2500),
            other => panic!("{other:?}"),
        }
        let half = json!({"id": "pi_1", "amount_received": 2500.5, "currency": "usd"});
        assert!(read("payment_intent.succeeded", half).is_err());
    }

    #[test]
    fn a_refund_at_the_provider_restocks_only_what_never_left() {
        use OrderStatus::*;
        let mut record = PaymentRecord::new(succeeded());
        assert_eq!(refund_at_provider(Paid, &record), Some((Refunded, true)));
        assert_eq!(refund_at_provider(Shipped, &record), Some((Refunded, false)));
        assert_eq!(
            refund_at_provider(ReturnRequested, &record),
            Some((Refunded, false))
        );
        assert_eq!(
            refund_at_provider(RefundPending, &record),
            Some((Refunded, false))
        );
        record.refund = RefundState::Requested {
            restock: true,
            handed_off_at: None,
        };
        assert_eq!(refund_at_provider(RefundPending, &record), Some((Refunded, true)));
        assert_eq!(refund_at_provider(PendingPayment, &record), None);
        assert_eq!(refund_at_provider(Refunded, &record), None);
        assert_eq!(
            refund_key(&record.payment.order_id, 0),
            format!("shop-order-{}-refund", record.payment.order_id)
        );
        assert_ne!(
            refund_key(&record.payment.order_id, 1),
            refund_key(&record.payment.order_id, 0)
        );
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
        record.refund = RefundState::Requested {
            restock: false,
            handed_off_at: Some(Timestamp::from_unix(2)),
        };
        assert!(!record.owes_late_refund_handoff(OrderStatus::RefundPending, false));
    }

    /// The table keeps the flat fields it always had; each combination the
    /// store writes reads as one state, and a state writes back the same.
    #[test]
    fn the_refund_state_reads_the_stored_form_and_writes_it_back() {
        let stored = |status: &str, fields: serde_json::Value| {
            let mut item = serde_json::to_value(PaymentRecord::new(succeeded())).expect("json");
            item["status"] = json!(status);
            for (name, value) in fields.as_object().expect("fields") {
                item[name] = value.clone();
            }
            let record: PaymentRecord = serde_json::from_value(item.clone()).expect("read");
            (record, item)
        };
        let cases = [
            ("succeeded", json!({}), RefundState::None),
            (
                "succeeded",
                json!({"refund_restock": true}),
                RefundState::Requested {
                    restock: true,
                    handed_off_at: None,
                },
            ),
            (
                "succeeded",
                json!({"refund_restock": false, "refund_handoff_at": "2026-12-05T00:00:00Z"}),
                RefundState::Requested {
                    restock: false,
                    handed_off_at: Some(Timestamp::parse("2026-12-05T00:00:00Z").expect("time")),
                },
            ),
            (
                "succeeded",
                json!({"refund_restock": false, "refund_error": "card expired"}),
                RefundState::Refused {
                    restock: false,
                    reason: "card expired".into(),
                },
            ),
            (
                "refunded",
                json!({"refund_restock": true, "refund_id": "re_1"}),
                RefundState::Made {
                    restock: true,
                    refund: MadeRefund::Ours("re_1".into()),
                },
            ),
            (
                "refunded",
                json!({"refunded_at_provider": true}),
                RefundState::Made {
                    restock: false,
                    refund: MadeRefund::AtProvider,
                },
            ),
        ];
        for (status, fields, expected) in cases {
            let (record, item) = stored(status, fields);
            assert_eq!(record.refund, expected, "{item}");
            let written = serde_json::to_value(&record).expect("json");
            let read_again: PaymentRecord = serde_json::from_value(written).expect("read");
            assert_eq!(read_again, record);
        }
        // A refund that failed after it was made (its id kept, the payment
        // back to succeeded, an error noted) reads as refused.
        let (failed, _) = stored(
            "succeeded",
            json!({"refund_restock": false, "refund_id": "re_1", "refund_error": "declined"}),
        );
        assert_eq!(failed.refund.refusal(), Some("declined"));
        assert_eq!(failed.refund.refund_id(), None);
    }
}
