//! Shipments and the tracking events that follow one to its delivery.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::ids::OrderId;
pub use crate::foundation::ids::ShipmentId;
use crate::foundation::input::{Errors, FromJson, Object, bounded_text, outside_id};

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

/// A tracking event as the carrier's webhook posts it (`POST
/// /carrier/events`, signed with the carrier's own secret): the event's id
/// (deliveries of one event share it), the shipment it is about and that
/// shipment's tracking number (both must match), and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierEvent {
    pub event_id: String,
    pub shipment_id: ShipmentId,
    pub tracking_number: String,
    pub event: NewShipmentEvent,
}

/// A carrier's ids (events, tracking numbers): 1 to 100 ASCII letters,
/// digits, `_` or `-` ([`outside_id`]).
fn carrier_id(raw: String) -> Result<String, String> {
    outside_id(raw, 100)
}

impl FromJson for CarrierEvent {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let event_id = o.required("event_id", carrier_id);
        let shipment_id = o.required("shipment_id", |raw: String| {
            ShipmentId::parse(&raw).map_err(|_| "is not a shipment id".to_owned())
        });
        let tracking_number = o.required("tracking_number", carrier_id);
        let status = o.required("status", ShipmentStatus::parse_posted);
        let location = o.optional("location", |s| bounded_text(s, 1, 200));
        let note = o.optional("note", |s| bounded_text(s, 0, 500));
        o.end();
        Some(Self {
            event_id: event_id?,
            shipment_id: shipment_id?,
            tracking_number: tracking_number?,
            event: NewShipmentEvent {
                status: status?,
                location: location?,
                note: note?,
            },
        })
    }
}

impl Shipment {
    /// A shipment whose label was just bought: one `LABEL_CREATED` event.
    pub fn labelled(order: &OrderId, label: Label, now: Timestamp) -> Self {
        Self {
            id: ShipmentId::for_order(order),
            order_id: order.clone(),
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
        }
    }
}

/// The most tracking events a shipment holds (its item stays far below
/// DynamoDB's 400 KB: an event is at most about 800 bytes).
pub const MAX_EVENTS: usize = 100;

/// A label bought from a carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub carrier: String,
    pub tracking_number: String,
}
