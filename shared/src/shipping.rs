//! Shipping: the worker that ships paid orders through a carrier, and the
//! tracking events that follow a shipment to its delivery.

use std::fmt;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::App;
use crate::auth::{Admin, Principal};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::input::{Errors, FromJson, Object, bounded_text};
use crate::newtype::uuid_id;
use crate::orders::{self, Event, Order, OrderId, OrderStatus};
use crate::queue::PaymentConfirmed;

uuid_id!(ShipmentId, "a shipment id");

impl ShipmentId {
    /// An order has at most one shipment, and its id is the order's: a
    /// duplicate message can only ever address the same shipment.
    pub fn for_order(order: &OrderId) -> Self {
        Self::from_uuid(order.uuid())
    }

    pub fn order_id(&self) -> OrderId {
        OrderId::from_uuid(self.uuid())
    }
}

pub fn parse_id(raw: &str) -> Result<ShipmentId, Error> {
    ShipmentId::parse(raw).map_err(|_| Error::NotFound)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentStatus {
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
}

impl ShipmentStatus {
    /// The statuses the carrier integration may post.
    fn parse_posted(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "IN_TRANSIT" => Ok(Self::InTransit),
            "OUT_FOR_DELIVERY" => Ok(Self::OutForDelivery),
            "DELIVERED" => Ok(Self::Delivered),
            "EXCEPTION" => Ok(Self::Exception),
            _ => Err("must be one of IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, EXCEPTION".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentEvent {
    pub status: ShipmentStatus,
    pub location: Option<String>,
    pub note: Option<String>,
    pub occurred_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub carrier: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    /// Oldest first.
    pub events: Vec<ShipmentEvent>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A tracking event posted by the carrier integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShipmentEvent {
    pub status: ShipmentStatus,
    pub location: Option<String>,
    pub note: Option<String>,
}

impl FromJson for NewShipmentEvent {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let status = o.required("status", ShipmentStatus::parse_posted);
        let location = o.optional("location", |s| bounded_text(s, 1, 200));
        let note = o.optional("note", |s| bounded_text(s, 0, 500));
        o.end();
        Some(Self {
            status: status?,
            location: location?,
            note: note?,
        })
    }
}

/// A label bought from a carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub carrier: String,
    pub tracking_number: String,
}

/// A carrier that sells shipping labels.
pub trait Carrier: Send + Sync + fmt::Debug {
    /// Buys the label for `order`. Asked twice for one order, a carrier
    /// must answer with the same label (the order id is its idempotency key).
    fn create_label<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Label, Error>>;
}

/// Issues tracking numbers locally, derived from the order.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxCarrier;

impl Carrier for SandboxCarrier {
    fn create_label<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Label, Error>> {
        let digest = Sha256::digest(order.id.to_string().as_bytes());
        let digits: String = digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02}"))
            .collect::<String>();
        Box::pin(async move {
            Ok(Label {
                carrier: "sandbox-post".into(),
                tracking_number: format!("SBX{}", &digits[..12.min(digits.len())]),
            })
        })
    }
}

// ---------------------------------------------------------------- use cases

/// What the shipping worker did with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ShipOutcome {
    Shipped(ShipmentId),
    /// A duplicate message: the order is shipped already.
    AlreadyShipped,
    /// The order is no longer paid (refunded, say): not shipped.
    NotShippable(OrderStatus),
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
    let Some(to) = orders::next_status(order.status, Event::Ship) else {
        return settled(app, &order.id, order.status).await;
    };
    let label = app.carrier.create_label(&order).await?;
    let now = Timestamp::now();
    let shipment = Shipment {
        id: ShipmentId::for_order(&order.id),
        order_id: order.id.clone(),
        carrier: label.carrier,
        tracking_number: label.tracking_number,
        status: ShipmentStatus::LabelCreated,
        events: vec![ShipmentEvent {
            status: ShipmentStatus::LabelCreated,
            location: None,
            note: None,
            occurred_at: now,
        }],
        created_at: now,
        updated_at: now,
    };
    match app.store.create_shipment(&order, to, &shipment, now).await {
        Ok(()) => Ok(ShipOutcome::Shipped(shipment.id)),
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
    orders::get_order(app, caller, order_id).await?;
    app.store
        .get_shipment(&ShipmentId::for_order(order_id))
        .await?
        .ok_or(Error::NotFound)
}

/// Records a tracking event. `DELIVERED` also moves the order to
/// `DELIVERED`, stamps `delivered_at` and records what the user bought (for
/// reviews), all in one transaction; nothing follows it.
pub async fn add_event(
    app: &App,
    _admin: &Admin,
    id: &ShipmentId,
    input: NewShipmentEvent,
) -> Result<Shipment, Error> {
    let shipment = app.store.get_shipment(id).await?.ok_or(Error::NotFound)?;
    let order = app
        .store
        .get_order(&id.order_id())
        .await?
        .ok_or(Error::NotFound)?;
    if shipment.status == ShipmentStatus::Delivered {
        return Err(Error::InvalidState(order.status));
    }
    let now = Timestamp::now();
    let event = ShipmentEvent {
        status: input.status,
        location: input.location,
        note: input.note,
        occurred_at: now,
    };
    let delivered_order = match input.status {
        ShipmentStatus::Delivered => Some((&order, orders::transition(order.status, Event::Deliver)?)),
        _ => None,
    };
    app.store
        .add_shipment_event(&shipment, event, delivered_order, now)
        .await
}

/// The shipping worker's handling of one message.
pub async fn handle_message(app: &App, message: crate::queue::Message) -> Result<ShipOutcome, Error> {
    match message {
        crate::queue::Message::PaymentConfirmed(confirmed) => ship(app, &confirmed).await,
        other => Err(Error::internal(format!("not a shipping message: {other:?}"))),
    }
}
