//! The messages that carry work between functions: versioned JSON, parsed
//! strictly so that a poison message ends in a DLQ rather than being
//! half-understood.

use crate::foundation::ids::{OrderId, PaymentId};
use crate::foundation::money::{Currency, Money};

/// Which queue a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Shipping,
    Refunds,
}

impl QueueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shipping => "shipping",
            Self::Refunds => "refunds",
        }
    }
}

/// `payment_confirmed`: the webhook hands a paid order to shipping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentConfirmed {
    pub order_id: OrderId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub currency: Currency,
}

/// `refund_requested`: an order to refund in full, with or without restock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequested {
    pub order_id: OrderId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub restock: bool,
}

/// A message on a queue: JSON `{"type": ..., "version": 1, ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    PaymentConfirmed(PaymentConfirmed),
    RefundRequested(RefundRequested),
}

/// The version this code writes and reads.
pub const MESSAGE_VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    #[serde(flatten)]
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Message {
    pub fn queue(&self) -> QueueKind {
        match self {
            Self::PaymentConfirmed(_) => QueueKind::Shipping,
            Self::RefundRequested(_) => QueueKind::Refunds,
        }
    }

    pub fn to_json(&self) -> String {
        let (kind, fields) = match self {
            Self::PaymentConfirmed(m) => ("payment_confirmed", serde_json::to_value(m)),
            Self::RefundRequested(m) => ("refund_requested", serde_json::to_value(m)),
        };
        let fields = match fields {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        serde_json::to_string(&Envelope {
            kind: kind.to_owned(),
            version: MESSAGE_VERSION,
            fields,
        })
        .unwrap_or_default()
    }

    /// Parses a message body; anything else (another version, unknown or
    /// missing fields) is an error, so that a poison message ends in the DLQ
    /// rather than being half-understood.
    pub fn parse(body: &str) -> Result<Self, String> {
        let envelope: Envelope = serde_json::from_str(body).map_err(|err| format!("not a message: {err}"))?;
        if envelope.version != MESSAGE_VERSION {
            return Err(format!("unsupported message version {}", envelope.version));
        }
        let fields = serde_json::Value::Object(envelope.fields);
        match envelope.kind.as_str() {
            "payment_confirmed" => serde_json::from_value(fields).map(Self::PaymentConfirmed),
            "refund_requested" => serde_json::from_value(fields).map(Self::RefundRequested),
            other => return Err(format!("unknown message type {other:?}")),
        }
        .map_err(|err| format!("malformed {}: {err}", envelope.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_type_and_version() {
        let message = Message::RefundRequested(RefundRequested {
            order_id: OrderId::new(),
            payment_id: PaymentId::new(),
            amount: Money::new(1200).expect("valid"),
            restock: true,
        });
        let json: serde_json::Value = serde_json::from_str(&message.to_json()).expect("json");
        assert_eq!(json["type"], "refund_requested");
        assert_eq!(json["version"], 1);
        assert_eq!(Message::parse(&message.to_json()), Ok(message));
    }

    #[test]
    fn poison_messages_are_refused() {
        let good = Message::PaymentConfirmed(PaymentConfirmed {
            order_id: OrderId::new(),
            payment_id: PaymentId::new(),
            amount: Money::new(1).expect("valid"),
            currency: Currency::parse("USD".into()).expect("valid"),
        })
        .to_json();
        for bad in [
            "not json".to_owned(),
            "{}".to_owned(),
            good.replace("\"version\":1", "\"version\":2"),
            good.replace("payment_confirmed", "payment_teleported"),
            good.replace("\"amount\":1", "\"amount\":-1"),
            good.replace("\"amount\":1", "\"amount\":1,\"extra\":true"),
        ] {
            assert!(Message::parse(&bad).is_err(), "{bad}");
        }
    }
}
