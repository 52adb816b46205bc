//! Payments' use cases: starting one with the configured provider, and the
//! provider's signed webhook that marks the order paid and hands it on.

use serde::Serialize;

use crate::adapters::metrics;
use crate::adapters::payments::{IntentRequest, ProviderError, RefundRequest, webhook};
use crate::adapters::store::DisputedOrder;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::money::Currency;
use crate::model::auth::Principal;
use crate::model::charges;
use crate::model::messages::{Message, PaymentConfirmed, QueueKind};
use crate::model::orders::{Dispute, Event, Order, OrderId, OrderStatus, transition};
use crate::model::payments::{
    self, DisputeReport, Payment, PaymentId, PaymentRecord, PaymentStatus, ProviderEvent, ProviderPaymentId,
    RefundState, SucceededIntent,
};

/// What starting a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStart {
    /// This call created it (`201`).
    Created(Payment),
    /// It had been started before, by this caller's earlier call or a
    /// concurrent one (`200`, the same payment).
    Existing(Payment),
}

impl PaymentStart {
    pub fn payment(&self) -> &Payment {
        match self {
            Self::Created(payment) | Self::Existing(payment) => payment,
        }
    }

    pub fn into_payment(self) -> Payment {
        match self {
            Self::Created(payment) | Self::Existing(payment) => payment,
        }
    }
}

/// Starts the payment of the caller's unpaid order, or returns the one
/// already started.
pub async fn start_payment(app: &App, caller: &Principal, order_id: &OrderId) -> Result<PaymentStart, Error> {
    let order = match app.store.get_order(order_id).await? {
        Some(order) if order.user_id == caller.user_id => order,
        Some(_) if caller.is_admin() => return Err(Error::Forbidden),
        _ => return Err(Error::NotFound),
    };
    // Only an order awaiting payment may be paid: a paid, cancelled or
    // expired one answers `INVALID_STATE`, never its payment's secret.
    transition(order.status, Event::Pay)?;
    if let Some(existing) = app.store.get_payment(order_id).await? {
        return Ok(PaymentStart::Existing(existing.payment));
    }
    let provider = app.payments()?;
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
        provider: provider.kind(),
        provider_payment_id: intent.id,
        amount: order.total,
        currency: order.currency,
        status: PaymentStatus::RequiresPayment,
        client_secret: intent.client_secret,
        created_at: Timestamp::now(),
    };
    match app
        .store
        .put_payment(&PaymentRecord::new(payment.clone()))
        .await?
    {
        true => Ok(PaymentStart::Created(payment)),
        // A concurrent call stored its payment first (for the same intent).
        false => {
            let stored = app.store.get_payment(order_id).await?.ok_or(Error::NotFound)?;
            Ok(PaymentStart::Existing(stored.payment))
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
    /// A repeat delivery (the same event id, or an event whose effect is
    /// there already), or a retry that completed a hand-off.
    AlreadyHandled,
    /// A payment of ours (an intent the shop stored) that its order cannot
    /// take: another amount or currency. The customer's money went back.
    Refunded(String),
    /// A payment the shop did not make (no intent of that id was stored):
    /// another integration's on the same account. Logged, counted and
    /// alarmed; never refunded, as the money is not the shop's to return.
    UnknownIntent,
    /// An attempt to pay failed (a declined card); the order stays payable.
    PaymentFailed(String),
    /// The whole payment was refunded at the provider: the order is
    /// `REFUNDED` and will not ship.
    RefundedAtProvider,
    /// A dispute of the payment is recorded on its order (status given);
    /// while open, an unshipped order is held.
    Disputed(String),
    /// A refund the provider had accepted failed: the order is back in
    /// `REFUND_PENDING`, listed among the refused refunds.
    RefundFailed(String),
    /// Not ours to act on (another event type, an intent without our
    /// metadata, a partial refund made by hand); logged.
    Ignored(String),
}

impl WebhookOutcome {
    /// The outcome's kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::PaidLate => "paid_late",
            Self::AlreadyHandled => "already_handled",
            Self::Refunded(_) => "refunded_mismatch",
            Self::UnknownIntent => "unknown_intent",
            Self::PaymentFailed(_) => "payment_failed",
            Self::RefundedAtProvider => "refunded_at_provider",
            Self::Disputed(_) => "disputed",
            Self::RefundFailed(_) => "refund_failed",
            Self::Ignored(_) => "ignored",
        }
    }
}

/// Handles one webhook delivery: the signature is checked on the raw body
/// before anything is parsed or written. An event handled before (by id)
/// is acknowledged and changes nothing. Events may come in any order: each
/// acts on the order as it is now, never moves it back past a later
/// event's effect, and one that needs an earlier event's effect first
/// (a refund or dispute of a payment not yet applied) answers `409
/// EVENT_OUT_OF_ORDER`, so that the provider delivers it again later.
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
    let delivery = payments::parse_event(body)?;
    if app.store.webhook_event_handled(&delivery.id).await? {
        return Ok(WebhookOutcome::AlreadyHandled);
    }
    let outcome = match delivery.event {
        ProviderEvent::PaymentSucceeded(intent) => payment_succeeded(app, &intent).await?,
        ProviderEvent::PaymentFailed { intent, reason } => {
            let Some(order) = app.store.order_of_intent(&intent).await? else {
                return Ok(not_ours(&intent));
            };
            app.store.record_payment_failure(&order, &reason).await?;
            WebhookOutcome::PaymentFailed(reason)
        }
        ProviderEvent::PaymentProcessing { intent } => {
            tracing::warn!(%intent, "a payment is processing: the order's expiry still runs, a late success is refunded");
            WebhookOutcome::Ignored("processing: the order's expiry still runs".into())
        }
        ProviderEvent::ChargeRefunded {
            intent,
            full,
            amount_refunded,
        } => charge_refunded(app, &intent, full, amount_refunded).await?,
        ProviderEvent::Dispute { intent, dispute } => disputed(app, &intent, dispute).await?,
        ProviderEvent::RefundFailed {
            intent,
            refund,
            reason,
        } => refund_failed(app, &intent, &refund, &reason).await?,
        ProviderEvent::Other(kind) => WebhookOutcome::Ignored(format!("event type {kind}")),
    };
    app.store
        .mark_webhook_event(&delivery.id, outcome.kind(), Timestamp::now())
        .await?;
    metrics::count_by("WebhookEvents", ("Outcome", outcome.kind()), 1);
    if matches!(outcome, WebhookOutcome::Paid | WebhookOutcome::PaidLate) {
        metrics::count("OrdersPaid", 1);
    }
    if outcome == WebhookOutcome::RefundedAtProvider {
        metrics::count("OrdersRefunded", 1);
    }
    Ok(outcome)
}

fn unknown_intent(intent: &SucceededIntent) -> WebhookOutcome {
    tracing::error!(
        intent = %intent.id,
        metadata_order = ?intent.order_id,
        "a payment the shop did not make succeeded; left alone (another integration's?)"
    );
    WebhookOutcome::UnknownIntent
}

fn not_ours(intent: &ProviderPaymentId) -> WebhookOutcome {
    tracing::warn!(%intent, "an event about a payment the shop did not make");
    WebhookOutcome::Ignored("not a payment of this shop".into())
}

/// The order an event about `intent` concerns, with its payment; `None` if
/// the payment is not the shop's.
async fn order_and_payment(
    app: &App,
    intent: &ProviderPaymentId,
) -> Result<Option<(Order, PaymentRecord)>, Error> {
    let Some(order_id) = app.store.order_of_intent(intent).await? else {
        return Ok(None);
    };
    match futures::try_join!(app.store.get_order(&order_id), app.store.get_payment(&order_id))? {
        (Some(order), Some(payment)) => Ok(Some((order, payment))),
        _ => Ok(None),
    }
}

/// `payment_intent.succeeded`: the order is paid (or, cancelled, owes a
/// refund) and handed on. The intent is the shop's only if the shop stored
/// it when the payment started (`INTENT#<id>`); metadata proves nothing, as
/// another integration on the same account may write anything there.
async fn payment_succeeded(app: &App, intent: &SucceededIntent) -> Result<WebhookOutcome, Error> {
    let Some((order, stored)) = order_and_payment(app, &intent.id).await? else {
        return Ok(unknown_intent(intent));
    };
    if let Err(why) = payments::check_intent(intent, &order, &stored.payment) {
        return refund_mismatch(app, intent, &order.id, why).await;
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
                    return Box::pin(payment_succeeded(app, intent)).await;
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

/// `charge.refunded`: a whole refund, made at the provider (its dashboard)
/// or by our refunds worker, moves the order to `REFUNDED` the way our own
/// refund does, restocking what never left, and stops shipping. A partial
/// refund (the shop makes none) is logged for an operator.
async fn charge_refunded(
    app: &App,
    intent: &ProviderPaymentId,
    full: bool,
    amount_refunded: i64,
) -> Result<WebhookOutcome, Error> {
    let Some((order, record)) = order_and_payment(app, intent).await? else {
        return Ok(not_ours(intent));
    };
    if !full {
        tracing::warn!(order = %order.id, amount_refunded, "a partial refund was made at the provider");
        return Ok(WebhookOutcome::Ignored(format!(
            "partial refund of {amount_refunded}"
        )));
    }
    if order.status == OrderStatus::Refunded {
        return Ok(WebhookOutcome::AlreadyHandled);
    }
    let Some((to, restock)) = payments::refund_at_provider(order.status, &record) else {
        return Err(Error::EventOutOfOrder(
            "the refunded payment is not applied to its order yet",
        ));
    };
    match app
        .store
        .complete_refund(&order, to, None, restock, Timestamp::now())
        .await
    {
        Ok(()) => {
            tracing::warn!(order = %order.id, from = %order.status, restock, "refunded at the provider");
            Ok(WebhookOutcome::RefundedAtProvider)
        }
        Err(Error::InvalidState(OrderStatus::Refunded)) => Ok(WebhookOutcome::AlreadyHandled),
        // Moved meanwhile (shipped, say): apply it to where it is now.
        Err(Error::InvalidState(_)) => Box::pin(charge_refunded(app, intent, full, amount_refunded)).await,
        Err(err) => Err(err),
    }
}

/// `charge.dispute.*`: the dispute is recorded on the order and listed
/// for admins; while open it holds an unshipped order (the shipping worker
/// does not ship it). One won lifts the hold and hands an order still
/// `PAID` to shipping again.
async fn disputed(
    app: &App,
    intent: &ProviderPaymentId,
    report: DisputeReport,
) -> Result<WebhookOutcome, Error> {
    let Some((order, _)) = order_and_payment(app, intent).await? else {
        return Ok(not_ours(intent));
    };
    if matches!(order.status, OrderStatus::PendingPayment | OrderStatus::Cancelled) {
        return Err(Error::EventOutOfOrder(
            "the disputed payment is not applied to its order yet",
        ));
    }
    let now = Timestamp::now();
    let dispute = Dispute {
        opened_at: order
            .dispute
            .as_ref()
            .filter(|known| known.id == report.id)
            .map_or(now, |known| known.opened_at),
        id: report.id,
        reason: report.reason,
        status: report.status,
    };
    let reship = order.held() && !dispute.holds() && order.status == OrderStatus::Paid;
    app.store.record_dispute(&order.id, &dispute, reship, now).await?;
    tracing::warn!(order = %order.id, dispute = %dispute.id, status = %dispute.status, "payment disputed");
    if reship && let Some(record) = app.store.get_payment(&order.id).await? {
        hand_off(app, &record.payment).await?;
    }
    if dispute.lost() {
        dispute_lost(app, &order, now).await?;
    }
    Ok(WebhookOutcome::Disputed(dispute.status.to_string()))
}

/// A lost dispute ends an order that never shipped: `REFUNDED` (the bank
/// gave the customer the money back) with its stock released, in the
/// transaction a refund at the provider uses; a repeat finds it refunded.
/// A shipped order keeps its status and shows the lost dispute.
async fn dispute_lost(app: &App, order: &Order, now: Timestamp) -> Result<(), Error> {
    let Some((to, restock)) = crate::model::orders::on_dispute_lost(order.status) else {
        return Ok(());
    };
    match app.store.complete_refund(order, to, None, restock, now).await {
        Ok(()) => {
            tracing::warn!(order = %order.id, restock, "a dispute was lost: the order ends refunded");
            metrics::count("DisputesLost", 1);
            Ok(())
        }
        // Moved meanwhile (refunded, or shipped after a reversal): as it is.
        Err(Error::InvalidState(_)) => Ok(()),
        Err(err) => Err(err),
    }
}

/// `charge.refund.updated` (or `refund.failed`) with a failed refund: the
/// money is still owed. The order goes back to `REFUND_PENDING` with the
/// reason, listed among the refused refunds (counted by the reconciler's
/// alarm metric) for an operator to retry with `shopctl refunds retry`.
async fn refund_failed(
    app: &App,
    intent: &ProviderPaymentId,
    refund: &str,
    reason: &str,
) -> Result<WebhookOutcome, Error> {
    let Some((order, record)) = order_and_payment(app, intent).await? else {
        return Ok(not_ours(intent));
    };
    let reason = format!("refund {refund} failed: {reason}");
    tracing::error!(order = %order.id, %reason, "a refund failed after the provider accepted it");
    match order.status {
        OrderStatus::Refunded => {
            let to = transition(order.status, Event::RefundFailed)?;
            match app
                .store
                .refund_failed(&order, to, &reason, Timestamp::now())
                .await
            {
                Ok(()) | Err(Error::InvalidState(OrderStatus::RefundPending)) => {}
                Err(err) => return Err(err),
            }
        }
        OrderStatus::RefundPending if matches!(record.refund, RefundState::Refused { .. }) => {
            return Ok(WebhookOutcome::AlreadyHandled);
        }
        // Not refunded yet (our worker has not recorded the refund): the
        // provider delivers the failure again once it has.
        _ => {
            return Err(Error::EventOutOfOrder(
                "the failed refund's order is not refunded yet",
            ));
        }
    }
    Ok(WebhookOutcome::RefundFailed(reason))
}

/// Gives back a captured payment of the shop's that its order cannot take:
/// in full, with an idempotency key from the intent, so that repeated
/// deliveries refund once. A provider that is unavailable answers `503`,
/// and the provider delivers the event again.
async fn refund_mismatch(
    app: &App,
    intent: &SucceededIntent,
    order: &OrderId,
    why: &str,
) -> Result<WebhookOutcome, Error> {
    tracing::error!(intent = %intent.id, %order, reason = why, "a payment that cannot be applied; refunding it");
    let currency = Currency::parse(intent.currency.clone())
        .map_err(|_| Error::internal("a captured amount in a currency the shop does not know"))?;
    let amount = charges::from_provider_units(intent.amount_received, currency)
        .map_err(|err| Error::internal(format!("a captured amount that is not an amount: {err}")))?;
    let refunded = app
        .payments()?
        .refund(RefundRequest {
            order_id: Some(order),
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
        currency: paid.currency,
    });
    app.queues()?.send(&message).await?;
    app.store
        .mark_handoff(&paid.order_id, QueueKind::Shipping, Timestamp::now())
        .await
}

/// The disputed orders, newest first, for an operator (`shopctl
/// disputes`); an admin also sees a dispute on the order itself.
pub async fn disputes(app: &App, limit: usize) -> Result<Vec<DisputedOrder>, Error> {
    app.store.disputes(limit).await
}
