//! Refunds' and returns' use cases: asking for a refund, returns within the
//! window after delivery, and the worker that refunds through the provider.

use serde::Serialize;

use crate::adapters::metrics;
use crate::adapters::payments::{ProviderError, RefundRequest};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::auth::{Admin, Principal};
use crate::model::messages::{Message, QueueKind, RefundRequested};
use crate::model::orders::{Event, Order, OrderId, OrderStatus, moved, transition};
use crate::model::payments::{self, Payment, PaymentRecord, RefundState};
use crate::model::refunds::{self, ReturnRequest};
use crate::usecases::orders::get_order;

/// `POST /orders/{id}/refund`: the owner while `PAID`; an admin while
/// `PAID`, `SHIPPED` or `DELIVERED`.
pub async fn refund_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    let order = get_order(app, caller, id).await?;
    begin_refund(
        app,
        order,
        Event::Refund {
            by_admin: caller.is_admin(),
        },
    )
    .await
}

/// `POST /orders/{id}/return`: the owner, within 30 days of delivery.
pub async fn request_return(
    app: &App,
    caller: &Principal,
    id: &OrderId,
    input: ReturnRequest,
) -> Result<Order, Error> {
    let order = match app.store.get_order(id).await? {
        Some(order) if order.user_id == caller.user_id => order,
        Some(_) if caller.is_admin() => return Err(Error::Forbidden),
        _ => return Err(Error::NotFound),
    };
    let to = transition(order.status, Event::Return)?;
    let now = Timestamp::now();
    let delivered_at = order.delivered_at.ok_or(Error::InvalidState(order.status))?;
    if !refunds::within_return_window(delivered_at, now) {
        return Err(Error::InvalidState(order.status));
    }
    let since = refunds::return_window_start(now);
    app.store
        .request_return(&order, to, &input.reason, since, now)
        .await?;
    Ok(moved(order, to, now))
}

/// `POST /orders/{id}/return/receive` (admin): the goods are back.
pub async fn receive_return(app: &App, _admin: &Admin, id: &OrderId) -> Result<Order, Error> {
    let order = app.store.get_order(id).await?.ok_or(Error::NotFound)?;
    begin_refund(app, order, Event::ReceiveReturn).await
}

/// Moves the order to `REFUND_PENDING` and hands the refund to the refunds
/// queue. Stock comes back with the refund only when nothing left the
/// warehouse or it came back: from `PAID` and from `RETURN_REQUESTED`.
///
/// If an earlier attempt moved the order but could not send (it answered
/// `503`), the retry finds it pending with no hand-off and sends again.
async fn begin_refund(app: &App, order: Order, event: Event) -> Result<Order, Error> {
    let record = app
        .store
        .get_payment(&order.id)
        .await?
        .ok_or(Error::InvalidState(order.status))?;
    if order.status == OrderStatus::RefundPending
        && let RefundState::Requested {
            restock,
            handed_off_at: None,
        } = record.refund
    {
        hand_off(app, &record.payment, restock).await?;
        return Ok(order);
    }
    let to = transition(order.status, event)?;
    let restock = refunds::restocks_on_refund(order.status);
    let now = Timestamp::now();
    app.store.request_refund(&order, to, restock, now).await?;
    hand_off(app, &record.payment, restock).await?;
    Ok(moved(order, to, now))
}

/// Sends `refund_requested` and notes that it went.
pub async fn hand_off(app: &App, payment: &Payment, restock: bool) -> Result<(), Error> {
    let message = Message::RefundRequested(RefundRequested {
        order_id: payment.order_id.clone(),
        payment_id: payment.id.clone(),
        amount: payment.amount,
        restock,
    });
    app.queues()?.send(&message).await?;
    app.store
        .mark_handoff(&payment.order_id, QueueKind::Refunds, Timestamp::now())
        .await
}

/// What the refunds worker did with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RefundOutcome {
    Refunded {
        restocked: bool,
    },
    /// A duplicate: the order is refunded already.
    AlreadyRefunded,
    /// The order is not waiting for a refund.
    NotPending(OrderStatus),
    /// The provider refused for good; noted on the payment for an operator.
    Refused(String),
}

/// Refunds through the provider (idempotency key from the order, so a
/// retried or duplicated message never refunds twice), then marks the order
/// `REFUNDED` and, where the refund says so, restocks, in one transaction
/// conditional on `REFUND_PENDING`: exactly once.
pub async fn process(app: &App, message: &RefundRequested) -> Result<RefundOutcome, Error> {
    let order = app
        .store
        .get_order(&message.order_id)
        .await?
        .ok_or_else(|| Error::internal("refund_requested names an order that does not exist"))?;
    match order.status {
        OrderStatus::RefundPending => {}
        OrderStatus::Refunded => return Ok(RefundOutcome::AlreadyRefunded),
        other => return Ok(RefundOutcome::NotPending(other)),
    }
    let to = transition(order.status, Event::Refunded)?;
    let record = app
        .store
        .get_payment(&order.id)
        .await?
        .ok_or_else(|| Error::internal("a refund for an order without a payment"))?;
    let payment = &record.payment;
    if payment.provider != app.payments()?.kind() {
        let reason = format!(
            "paid through {}, not {}",
            payment.provider,
            app.payments()?.kind()
        );
        app.store
            .record_refund_failure(&order.id, &reason, Timestamp::now())
            .await?;
        return Ok(RefundOutcome::Refused(reason));
    }
    let refunded = app
        .payments()?
        .refund(RefundRequest {
            order_id: Some(&order.id),
            provider_payment_id: &payment.provider_payment_id,
            amount: payment
                .amount
                .of(payment.currency)
                .map_err(|err| Error::internal(err.to_string()))?,
            idempotency_key: payments::refund_key(&order.id, record.refund_attempt),
        })
        .await;
    let refund_id = match refunded {
        Ok(id) => id,
        Err(ProviderError::AlreadyRefunded) => record
            .refund
            .refund_id()
            .map_or_else(|| "refunded-before".into(), str::to_owned),
        Err(ProviderError::Transient(detail)) => return Err(Error::Unavailable(detail)),
        Err(refused @ (ProviderError::Rejected(_) | ProviderError::UnexpectedState)) => {
            let reason = match refused {
                ProviderError::Rejected(reason) => reason,
                other => other.to_string(),
            };
            tracing::error!(order = %order.id, %reason, "the provider refused the refund");
            app.store
                .record_refund_failure(&order.id, &reason, Timestamp::now())
                .await?;
            return Ok(RefundOutcome::Refused(reason));
        }
    };
    let restock = match record.refund {
        RefundState::None => message.restock,
        ref asked => asked.restocks(),
    };
    match app
        .store
        .complete_refund(&order, to, Some(&refund_id), restock, Timestamp::now())
        .await
    {
        Ok(()) => {
            metrics::count("OrdersRefunded", 1);
            Ok(RefundOutcome::Refunded { restocked: restock })
        }
        Err(Error::InvalidState(OrderStatus::Refunded)) => Ok(RefundOutcome::AlreadyRefunded),
        Err(Error::InvalidState(other)) => Ok(RefundOutcome::NotPending(other)),
        Err(err) => Err(err),
    }
}

/// The refunds worker's handling of one message.
pub async fn handle_message(app: &App, message: Message) -> Result<RefundOutcome, Error> {
    match message {
        Message::RefundRequested(request) => process(app, &request).await,
        other => Err(Error::internal(format!("not a refunds message: {other:?}"))),
    }
}

/// The refunds the provider refused, newest first (for an operator).
pub async fn refused_refunds(app: &App, limit: usize) -> Result<Vec<PaymentRecord>, Error> {
    app.store.refused_refunds(limit).await
}

/// Tries a refused refund again: it is listed no more, and its request goes
/// back to the refunds queue. `NOT_FOUND` unless the order's refund was
/// refused.
pub async fn retry_refused_refund(app: &App, order: &OrderId) -> Result<(), Error> {
    if !app.store.reopen_refused_refund(order, Timestamp::now()).await? {
        return Err(Error::NotFound);
    }
    let record = app.store.get_payment(order).await?.ok_or(Error::NotFound)?;
    hand_off(app, &record.payment, record.refund.restocks()).await
}
