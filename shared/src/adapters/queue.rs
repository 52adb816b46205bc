//! The queues (SQS): their definition (one source for the local emulator,
//! the test queues and the check against `template.yaml`) and the sender.

use std::collections::HashMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::foundation::error::Error;
use crate::model::messages::{Message, QueueKind};

/// A work queue with its dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's name stem (`shipping` → `<prefix>shipping`, `<prefix>shipping-dlq`).
    pub name: &'static str,
    /// The environment variable that carries the queue's URL to its producers.
    pub url_env: &'static str,
    /// The SAM logical id in `template.yaml`.
    pub logical_id: &'static str,
    /// How long a received message stays invisible: six times the worker's
    /// timeout (20 s), as AWS asks of an event source mapping.
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
        visibility_timeout_secs: 120,
        max_receive_count: 5,
    },
    QueueSpec {
        name: "refunds",
        url_env: "REFUNDS_QUEUE_URL",
        logical_id: "RefundsQueue",
        visibility_timeout_secs: 120,
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

    /// The client for the queues, with the shop's retries. A send retried
    /// after its answer was lost sends a duplicate: every consumer takes
    /// duplicates (SQS delivers at least once anyway).
    pub fn client_for(aws: &aws_config::SdkConfig) -> Client {
        Client::from_conf(
            aws_sdk_sqs::config::Builder::from(aws)
                .retry_config(crate::adapters::retries())
                .interceptor(crate::adapters::calls::Recorder)
                .build(),
        )
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
