//! Payments: starting one with the configured provider, and the provider's
//! signed webhook that marks the order paid and hands it to shipping.

mod sandbox;
mod stripe;
pub mod webhook;

use std::collections::HashMap;
use std::fmt;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use sandbox::SandboxProvider;
pub use stripe::StripeProvider;

use crate::App;
use crate::auth::Principal;
use crate::clock::Timestamp;
use crate::error::Error;
use crate::money::{Currency, Money};
use crate::newtype::uuid_id;
use crate::orders::{self, Event, OrderId, OrderStatus};
use crate::queue::{Message, PaymentConfirmed};

uuid_id!(PaymentId, "a payment id");

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

/// What a provider is asked to collect.
#[derive(Debug, Clone)]
pub struct IntentRequest<'a> {
    pub order_id: &'a OrderId,
    pub amount: Money,
    pub currency: &'a Currency,
    /// Sent as the provider's `Idempotency-Key`: the same order never makes
    /// two intents, however often it is asked.
    pub idempotency_key: String,
}

/// The provider's side of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub client_secret: Option<String>,
}

/// What a provider is asked to give back: the whole amount of a payment.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub order_id: &'a OrderId,
    /// The provider's payment (Stripe's PaymentIntent id).
    pub provider_payment_id: &'a str,
    pub amount: Money,
    /// Derived from the order, so a retried or duplicated message never
    /// refunds twice.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The payment was refunded already (by an earlier attempt, or by hand).
    #[error("the payment is refunded already")]
    AlreadyRefunded,
    /// Worth retrying: network trouble, rate limits, the provider's 5xx.
    #[error("the payment provider is unavailable: {0}")]
    Transient(String),
    /// Retrying will not help: the provider refused the request.
    #[error("the payment provider refused the request: {0}")]
    Rejected(String),
}

impl From<ProviderError> for Error {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Transient(detail) => Error::Unavailable(detail),
            ProviderError::Rejected(detail) => Error::internal(detail),
            ProviderError::AlreadyRefunded => Error::internal("the payment is refunded already"),
        }
    }
}

/// A payment provider (`PAYMENT_PROVIDER`): Stripe in production, the
/// sandbox locally.
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;

    fn create_intent<'a>(
        &'a self,
        request: IntentRequest<'a>,
    ) -> BoxFuture<'a, Result<Intent, ProviderError>>;

    /// Refunds a payment in full; returns the provider's refund id.
    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> BoxFuture<'a, Result<String, ProviderError>>;
}

// ---------------------------------------------------------------- use cases

/// Starts the payment of the caller's unpaid order, or returns the one
/// already started; `true` when this call created it.
pub async fn start_payment(
    app: &App,
    caller: &Principal,
    order_id: &OrderId,
) -> Result<(Payment, bool), Error> {
    let order = match app.store.get_order(order_id).await? {
        Some(order) if order.user_id == caller.user_id => order,
        Some(_) if caller.is_admin() => return Err(Error::Forbidden),
        _ => return Err(Error::NotFound),
    };
    if let Some(existing) = app.store.get_payment(order_id).await? {
        return Ok((existing.payment, false));
    }
    orders::transition(order.status, Event::Pay)?;
    let provider = app.payments.as_ref();
    let intent = provider
        .create_intent(IntentRequest {
            order_id: &order.id,
            amount: order.total,
            currency: &order.currency,
            idempotency_key: format!("shop-order-{}-payment", order.id),
        })
        .await?;
    let payment = Payment {
        id: PaymentId::new(),
        order_id: order.id.clone(),
        provider: provider.name().to_owned(),
        provider_payment_id: intent.id,
        amount: order.total,
        currency: order.currency.clone(),
        status: PaymentStatus::RequiresPayment,
        client_secret: intent.client_secret,
        created_at: Timestamp::now(),
    };
    match app.store.put_payment(&payment).await? {
        true => Ok((payment, true)),
        // A concurrent call stored its payment first (for the same intent).
        false => {
            let stored = app.store.get_payment(order_id).await?.ok_or(Error::NotFound)?;
            Ok((stored.payment, false))
        }
    }
}

/// What a webhook delivery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum WebhookOutcome {
    /// The order is paid and handed to shipping.
    Paid,
    /// The order had been cancelled: it awaits a refund.
    PaidLate,
    /// A repeat delivery, or a retry that completed a hand-off.
    AlreadyHandled,
    /// Not ours to act on (another event type, an unknown intent, a
    /// mismatched amount); logged.
    Ignored(String),
}

#[derive(Deserialize)]
struct StripeEvent {
    #[serde(rename = "type")]
    kind: String,
    data: StripeEventData,
}

#[derive(Deserialize)]
struct StripeEventData {
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

/// Handles one webhook delivery: the signature is checked on the raw body
/// before anything is parsed or written.
pub async fn handle_webhook(
    app: &App,
    signature: Option<&str>,
    body: &[u8],
) -> Result<WebhookOutcome, Error> {
    let secret = app.config.webhook_secret()?;
    webhook::verify(secret, signature, body, Timestamp::now().unix()).map_err(|err| {
        tracing::warn!(reason = %err, "webhook signature refused");
        Error::InvalidSignature
    })?;
    let event: StripeEvent =
        serde_json::from_slice(body).map_err(|_| Error::invalid("body", "is not a provider event"))?;
    if event.kind != "payment_intent.succeeded" {
        return Ok(WebhookOutcome::Ignored(format!("event type {}", event.kind)));
    }
    let intent: PaymentIntentObject = serde_json::from_value(event.data.object)
        .map_err(|_| Error::invalid("data.object", "is not a payment intent"))?;
    let ignored = |why: &str| {
        tracing::error!(intent = %intent.id, reason = why, "payment not applied");
        Ok(WebhookOutcome::Ignored(why.to_owned()))
    };
    let Some(order_id) = intent
        .metadata
        .get("order_id")
        .and_then(|id| OrderId::parse(id).ok())
    else {
        return ignored("no order_id in the metadata");
    };
    let (Some(order), Some(stored)) = (
        app.store.get_order(&order_id).await?,
        app.store.get_payment(&order_id).await?,
    ) else {
        return ignored("no such order or payment");
    };
    if stored.payment.provider_payment_id != intent.id {
        return ignored("the intent is not the order's payment");
    }
    if intent.amount_received != order.total.minor()
        || !intent.currency.eq_ignore_ascii_case(order.currency.as_str())
    {
        return ignored("amount or currency does not match the order");
    }

    let now = Timestamp::now();
    let mut status = order.status;
    let mut outcome = WebhookOutcome::AlreadyHandled;
    if let Some(to) =
        orders::next_status(status, Event::Pay).or_else(|| orders::next_status(status, Event::PayLate))
    {
        match app.store.mark_paid(&order, &stored.payment, to, now).await {
            Ok(()) => {
                outcome = if to == OrderStatus::Paid {
                    WebhookOutcome::Paid
                } else {
                    WebhookOutcome::PaidLate
                };
                status = to;
            }
            // Someone else moved the order meanwhile (a cancel, an expiry, a
            // concurrent delivery): act on where it is now.
            Err(Error::InvalidState(current)) => {
                if current != status {
                    return Box::pin(handle_webhook(app, signature, body)).await;
                }
            }
            Err(err) => return Err(err),
        }
    }
    // Hand-offs: sent after the state is written, and re-sent by every
    // delivery until one has gone through, so the provider's retries finish
    // a hand-off whose send failed. (Marking paid leaves the hand-off marks
    // as they were read.)
    let paid = &stored.payment;
    if status == OrderStatus::Paid && stored.shipping_handoff_at.is_none() {
        let message = Message::PaymentConfirmed(PaymentConfirmed {
            order_id: order.id.clone(),
            payment_id: paid.id.clone(),
            amount: paid.amount,
            currency: paid.currency.clone(),
        });
        app.queues.send(&message).await?;
        app.store
            .mark_handoff(&order.id, crate::queue::QueueKind::Shipping, now)
            .await?;
    }
    let paid_late = stored.paid_late || outcome == WebhookOutcome::PaidLate;
    if status == OrderStatus::RefundPending && paid_late && stored.refund_handoff_at.is_none() {
        crate::refunds::hand_off(app, paid, false).await?;
    }
    Ok(outcome)
}

/// The provider named by `PAYMENT_PROVIDER`.
pub fn provider_from_config(
    config: &crate::Config,
) -> Result<std::sync::Arc<dyn PaymentProvider>, crate::config::ConfigError> {
    match config.payment_provider.as_str() {
        "sandbox" => Ok(std::sync::Arc::new(SandboxProvider)),
        "stripe" => Ok(std::sync::Arc::new(StripeProvider::new(
            config.stripe_api_base.clone(),
            config.stripe_api_key.clone(),
        ))),
        other => Err(crate::config::ConfigError::Invalid {
            name: "PAYMENT_PROVIDER",
            reason: format!("{other:?} is neither stripe nor sandbox"),
        }),
    }
}
