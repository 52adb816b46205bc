//! Shipping's use cases: the worker that ships paid orders through a
//! carrier, and the tracking events that follow a shipment to delivery.

use serde::Serialize;

use crate::adapters::payments::webhook;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::input::parse_document;
use crate::model::auth::{Admin, Principal};
use crate::model::messages::{Message, PaymentConfirmed};
use crate::model::orders::{Event, OrderId, OrderStatus, next_status, transition};
use crate::model::payments::WebhookEventId;
use crate::model::shipping::{
    CarrierEvent, MAX_EVENTS, NewShipmentEvent, Shipment, ShipmentEvent, ShipmentId, ShipmentStatus,
};
use crate::usecases::orders::get_order;

/// What the shipping worker did with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ShipOutcome {
    Shipped(ShipmentId),
    /// A duplicate message: the order is shipped already.
    AlreadyShipped,
    /// The order is no longer paid (refunded, say): not shipped.
    NotShippable(OrderStatus),
    /// A dispute of its payment holds the order: not shipped. A dispute won
    /// hands it to shipping again.
    Held,
}

/// Ships a paid order: buys the label, then writes the shipment and moves the
/// order `PAID → SHIPPED` in one transaction (conditional on both), so a
/// duplicate message never makes a second shipment and an order refunded
/// meanwhile is never shipped.
pub async fn ship(app: &App, message: &PaymentConfirmed) -> Result<ShipOutcome, Error> {
    let order = app
        .store
        .get_order(&message.order_id)
        .await?
        .ok_or_else(|| Error::internal("payment_confirmed names an order that does not exist"))?;
    let Some(to) = next_status(order.status, Event::Ship) else {
        return settled(app, &order.id, order.status).await;
    };
    if order.held() {
        return Ok(ShipOutcome::Held);
    }
    let label = app.carrier()?.create_label(&order).await?;
    let now = Timestamp::now();
    let shipment = Shipment::labelled(&order.id, label, now);
    match app.store.create_shipment(&order, to, &shipment, now).await {
        Ok(()) => Ok(ShipOutcome::Shipped(shipment.id)),
        Err(Error::InvalidState(OrderStatus::Paid)) => Ok(ShipOutcome::Held),
        Err(Error::InvalidState(status)) => settled(app, &order.id, status).await,
        Err(err) => Err(err),
    }
}

async fn settled(app: &App, order: &OrderId, status: OrderStatus) -> Result<ShipOutcome, Error> {
    Ok(
        match app.store.get_shipment(&ShipmentId::for_order(order)).await? {
            Some(_) => ShipOutcome::AlreadyShipped,
            None => ShipOutcome::NotShippable(status),
        },
    )
}

/// The shipment of an order the caller may see; `404` until it exists.
pub async fn get_shipment(app: &App, caller: &Principal, order_id: &OrderId) -> Result<Shipment, Error> {
    get_order(app, caller, order_id).await?;
    app.store
        .get_shipment(&ShipmentId::for_order(order_id))
        .await?
        .ok_or(Error::NotFound)
}

/// Records a tracking event an admin posts (`POST /shipments/{id}/events`).
pub async fn add_event(
    app: &App,
    _admin: &Admin,
    id: &ShipmentId,
    input: NewShipmentEvent,
) -> Result<Shipment, Error> {
    let shipment = app.store.get_shipment(id).await?.ok_or(Error::NotFound)?;
    record_event(app, shipment, input).await
}

/// A tracking event from the carrier's webhook (`POST /carrier/events`):
/// signed with the carrier's own secret (HMAC-SHA256 over `<t>.<body>`,
/// `Carrier-Signature: t=..,v1=..`, 300 s either way), checked on the raw
/// body before anything is parsed, so the carrier needs no admin's
/// password and can do nothing else. The event must name a shipment and
/// its tracking number; an event id handled before answers the shipment
/// as it is, changing nothing.
pub async fn carrier_event(app: &App, signature: Option<&str>, body: &[u8]) -> Result<Shipment, Error> {
    let secret = app.config.carrier_webhook_secret()?;
    webhook::verify(secret, signature, body, Timestamp::now().unix()).map_err(|err| {
        tracing::warn!(reason = %err, "carrier signature refused");
        Error::InvalidSignature
    })?;
    let value = serde_json::from_slice(body).map_err(|_| Error::invalid("body", "is not valid JSON"))?;
    let event: CarrierEvent = parse_document(value)?;
    let shipment = app
        .store
        .get_shipment(&event.shipment_id)
        .await?
        .filter(|shipment| shipment.tracking_number == event.tracking_number)
        .ok_or(Error::NotFound)?;
    let delivery = WebhookEventId::carrier(&event.event_id).map_err(|msg| Error::invalid("event_id", msg))?;
    // Handled before, or a delivery whose mark was lost: as it is now.
    let delivered_again =
        shipment.status == ShipmentStatus::Delivered && event.event.status == ShipmentStatus::Delivered;
    if delivered_again || app.store.webhook_event_handled(&delivery).await? {
        return Ok(shipment);
    }
    let recorded = record_event(app, shipment, event.event).await?;
    app.store
        .mark_webhook_event(&delivery, "tracking_event", Timestamp::now())
        .await?;
    Ok(recorded)
}

/// Records a tracking event. `DELIVERED` also moves the order to
/// `DELIVERED`, stamps `delivered_at` and records what the user bought (for
/// reviews), all in one transaction; nothing follows it.
async fn record_event(app: &App, shipment: Shipment, input: NewShipmentEvent) -> Result<Shipment, Error> {
    let id = &shipment.id;
    let order = app
        .store
        .get_order(&id.order_id())
        .await?
        .ok_or(Error::NotFound)?;
    if shipment.status == ShipmentStatus::Delivered {
        return Err(Error::InvalidState(order.status));
    }
    if input.status != ShipmentStatus::Delivered && shipment.events.len() >= MAX_EVENTS {
        return Err(Error::TooManyEvents(MAX_EVENTS));
    }
    let now = Timestamp::now();
    let event = ShipmentEvent {
        status: input.status,
        location: input.location,
        note: input.note,
        occurred_at: now,
    };
    let delivered_order = match input.status {
        ShipmentStatus::Delivered => Some((&order, transition(order.status, Event::Deliver)?)),
        _ => None,
    };
    app.store
        .add_shipment_event(&shipment, event, delivered_order, now)
        .await
}

/// The answer of a `DELIVERED` event retried under its `Idempotency-Key`
/// after an attempt that may have applied (`retried_delivery`): a shipment
/// found delivered is that attempt's success.
pub async fn delivered_before(
    app: &App,
    id: &ShipmentId,
    retried_delivery: bool,
    result: Result<Shipment, Error>,
) -> Result<Shipment, Error> {
    match result {
        Err(Error::InvalidState(status)) if retried_delivery => match app.store.get_shipment(id).await? {
            Some(shipment) if shipment.status == ShipmentStatus::Delivered => Ok(shipment),
            _ => Err(Error::InvalidState(status)),
        },
        other => other,
    }
}

/// The shipping worker's handling of one message.
pub async fn handle_message(app: &App, message: Message) -> Result<ShipOutcome, Error> {
    match message {
        Message::PaymentConfirmed(confirmed) => ship(app, &confirmed).await,
        other => Err(Error::internal(format!("not a shipping message: {other:?}"))),
    }
}
