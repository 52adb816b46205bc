//! The queues: their definition (one source for the local emulator, the test
//! queues and the check against `template.yaml`) and, as workers arrive, the
//! messages they carry.

use std::collections::HashMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::Error;

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
/// a no-op, so this is safe to repeat.
pub async fn create_queues(client: &Client, prefix: &str) -> Result<Vec<(QueueSpec, QueueUrls)>, Error> {
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
                    spec.visibility_timeout_secs.to_string(),
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
