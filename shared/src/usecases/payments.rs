//! Payments' use cases: starting one with the configured provider, and the
//! provider's signed webhook that marks the order paid and hands it on.

use serde::Serialize;

use crate::adapters::payments::{IntentRequest, ProviderError, RefundRequest, webhook};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::money::Money;
use crate::model::auth::Principal;
use crate::model::messages::{Message, PaymentConfirmed, QueueKind};
use crate::model::orders::{Event, OrderId, transition};
use crate::model::payments::{
    self, Payment, PaymentId, PaymentRecord, PaymentStatus, ProviderEvent, SucceededIntent,
};

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
    // Only an order awaiting payment may be paid: a paid, cancelled or
    // expired one answers `INVALID_STATE`, never its payment's secret.
    transition(order.status, Event::Pay)?;
    if let Some(existing) = app.store.get_payment(order_id).await? {
        return Ok((existing.payment, false));
    }
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
    match app
        .store
        .put_payment(&PaymentRecord::new(payment.clone()))
        .await?
    {
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
    /// A payment of ours (its metadata names an order) that cannot be
    /// applied: no such order or payment, another intent than the order's,
    /// or a different amount. The customer's money went back.
    Refunded(String),
    /// Not ours to act on (another event type, an intent without our
    /// metadata); logged.
    Ignored(String),
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
    let intent = match payments::parse_event(body)? {
        ProviderEvent::PaymentSucceeded(intent) => intent,
        ProviderEvent::Other(kind) => return Ok(WebhookOutcome::Ignored(format!("event type {kind}"))),
    };
    let ignored = |why: &str| {
        tracing::error!(intent = %intent.id, reason = why, "payment not applied");
        Ok(WebhookOutcome::Ignored(why.to_owned()))
    };
    // Only intents the shop made carry an order id: a payment of another
    // application on the same account is none of ours.
    let Some(order_id) = &intent.order_id else {
        return ignored("no order_id in the metadata");
    };
    let (Some(order), Some(stored)) = (
        app.store.get_order(order_id).await?,
        app.store.get_payment(order_id).await?,
    ) else {
        return refund_stray(app, &intent, "no such order or payment").await;
    };
    if let Err(why) = payments::check_intent(&intent, &order, &stored.payment) {
        return refund_stray(app, &intent, why).await;
    }

    let now = Timestamp::now();
    let mut status = order.status;
    let mut outcome = WebhookOutcome::AlreadyHandled;
    if let Some(to) = payments::status_on_payment(status) {
        let late = payments::is_late(status);
        match app.store.mark_paid(&order, &stored.payment, to, late, now).await {
            Ok(()) => {
                outcome = if late {
                    WebhookOutcome::PaidLate
                } else {
                    WebhookOutcome::Paid
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
    if stored.owes_shipping_handoff(status) {
        hand_off(app, paid).await?;
    }
    if stored.owes_late_refund_handoff(status, outcome == WebhookOutcome::PaidLate) {
        crate::usecases::refunds::hand_off(app, paid, false).await?;
    }
    Ok(outcome)
}

/// Gives back a captured payment that no order can take: in full, with an
/// idempotency key from the intent, so that repeated deliveries refund once.
/// A provider that is unavailable answers `503`, and the provider delivers
/// the event again.
async fn refund_stray(app: &App, intent: &SucceededIntent, why: &str) -> Result<WebhookOutcome, Error> {
    tracing::error!(intent = %intent.id, reason = why, "a payment that cannot be applied; refunding it");
    let amount = Money::new(intent.amount_received)
        .map_err(|_| Error::internal("a captured amount that is not a valid amount"))?;
    let refunded = app
        .payments
        .refund(RefundRequest {
            order_id: intent.order_id.as_ref(),
            provider_payment_id: &intent.id,
            amount,
            idempotency_key: format!("shop-intent-{}-refund", intent.id),
        })
        .await;
    match refunded {
        Ok(_) | Err(ProviderError::AlreadyRefunded) => Ok(WebhookOutcome::Refunded(why.to_owned())),
        Err(ProviderError::Transient(detail)) => Err(Error::Unavailable(detail)),
        Err(refused) => {
            tracing::error!(intent = %intent.id, reason = %refused, "the provider refused to refund a payment no order can take");
            Ok(WebhookOutcome::Ignored(format!(
                "{why}; its refund was refused: {refused}"
            )))
        }
    }
}

/// Sends `payment_confirmed` to shipping and notes that it went.
pub async fn hand_off(app: &App, paid: &Payment) -> Result<(), Error> {
    let message = Message::PaymentConfirmed(PaymentConfirmed {
        order_id: paid.order_id.clone(),
        payment_id: paid.id.clone(),
        amount: paid.amount,
        currency: paid.currency.clone(),
    });
    app.queues.send(&message).await?;
    app.store
        .mark_handoff(&paid.order_id, QueueKind::Shipping, Timestamp::now())
        .await
}
