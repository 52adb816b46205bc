//! The queues: their definition (one source for the local emulator, the test
//! queues and the check against `template.yaml`), the versioned messages
//! they carry, and the sender.

use std::collections::HashMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::Error;
use crate::money::{Currency, Money};
use crate::orders::OrderId;
use crate::payments::PaymentId;

/// A work queue with its dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's name stem (`shipping` → `<prefix>shipping`, `<prefix>shipping-dlq`).
    pub name: &'static str,
    /// The environment variable that carries the queue's URL to its producers.
    pub url_env: &'static str,
    /// The SAM logical id in `template.yaml`.
    pub logical_id: &'static str,
    /// How long a received message stays invisible: above the worker's timeout.
    pub visibility_timeout_secs: u32,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u32,
}

/// Messages are kept four days in the work queues and fourteen in the DLQs.
pub const RETENTION_SECS: u32 = 4 * 24 * 3600;
pub const DLQ_RETENTION_SECS: u32 = 14 * 24 * 3600;

pub const QUEUES: [QueueSpec; 2] = [
    QueueSpec {
        name: "shipping",
        url_env: "SHIPPING_QUEUE_URL",
        logical_id: "ShippingQueue",
        visibility_timeout_secs: 60,
        max_receive_count: 5,
    },
    QueueSpec {
        name: "refunds",
        url_env: "REFUNDS_QUEUE_URL",
        logical_id: "RefundsQueue",
        visibility_timeout_secs: 60,
        max_receive_count: 5,
    },
];

/// The URLs of one created queue and its DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub url: String,
    pub dlq_url: String,
}

async fn create(
    client: &Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, Error> {
    let output = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(Error::internal)?;
    output
        .queue_url
        .ok_or_else(|| Error::internal("CreateQueue returned no URL"))
}

/// Creates every queue and its DLQ, names prefixed by `prefix`; returns the
/// URLs by queue name. Creating an existing queue with the same attributes is
/// a no-op, so this is safe to repeat. `visibility_timeout_secs` overrides
/// the definition's, for local runs that want failed messages back sooner.
pub async fn create_queues(
    client: &Client,
    prefix: &str,
    visibility_timeout_secs: Option<u32>,
) -> Result<Vec<(QueueSpec, QueueUrls)>, Error> {
    let mut created = Vec::new();
    for spec in QUEUES {
        let dlq_url = create(
            client,
            &format!("{prefix}{}-dlq", spec.name),
            HashMap::from([(
                QueueAttributeName::MessageRetentionPeriod,
                DLQ_RETENTION_SECS.to_string(),
            )]),
        )
        .await?;
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(Error::internal)?
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| Error::internal("GetQueueAttributes returned no ARN"))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": spec.max_receive_count,
        });
        let url = create(
            client,
            &format!("{prefix}{}", spec.name),
            HashMap::from([
                (
                    QueueAttributeName::VisibilityTimeout,
                    visibility_timeout_secs
                        .unwrap_or(spec.visibility_timeout_secs)
                        .to_string(),
                ),
                (
                    QueueAttributeName::MessageRetentionPeriod,
                    RETENTION_SECS.to_string(),
                ),
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
            ]),
        )
        .await?;
        created.push((spec, QueueUrls { url, dlq_url }));
    }
    Ok(created)
}

// ---------------------------------------------------------------- messages

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

/// The SQS client and the queues this function sends to (their URLs are
/// taken as given, so any emulator or region works).
#[derive(Debug, Clone)]
pub struct Queues {
    client: Client,
    shipping_url: Option<String>,
    refunds_url: Option<String>,
    shipping_delay_secs: i32,
}

impl Queues {
    /// `shipping_delay_secs` holds each `payment_confirmed` back (SQS
    /// `DelaySeconds`, at most 900): a grace period in which a paid order
    /// can still be refunded before it ships.
    pub fn new(
        client: Client,
        shipping_url: Option<String>,
        refunds_url: Option<String>,
        shipping_delay_secs: u32,
    ) -> Self {
        Self {
            client,
            shipping_url,
            refunds_url,
            shipping_delay_secs: i32::try_from(shipping_delay_secs.min(900)).unwrap_or(0),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn url(&self, kind: QueueKind) -> Option<&str> {
        match kind {
            QueueKind::Shipping => self.shipping_url.as_deref(),
            QueueKind::Refunds => self.refunds_url.as_deref(),
        }
    }

    /// Sends `message` to its queue. A failure is `503`: the caller (the
    /// webhook) answers non-2xx so that the provider retries.
    pub async fn send(&self, message: &Message) -> Result<(), Error> {
        let kind = message.queue();
        let url = self
            .url(kind)
            .ok_or_else(|| Error::Unavailable(format!("no URL for the {} queue", kind.as_str())))?;
        let delay = match kind {
            QueueKind::Shipping => self.shipping_delay_secs,
            QueueKind::Refunds => 0,
        };
        self.client
            .send_message()
            .queue_url(url)
            .message_body(message.to_json())
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|err| {
                tracing::error!(queue = kind.as_str(), error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "send failed");
                Error::Unavailable(format!("could not send to the {} queue", kind.as_str()))
            })?;
        Ok(())
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
