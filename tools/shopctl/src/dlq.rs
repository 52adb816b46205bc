//! `dlq list` and `dlq redrive`: a queue's dead letters.

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use clap::Subcommand;
use shared::BoxError;
use shared::adapters::queue;

use crate::settings::Settings;

#[derive(Subcommand)]
pub enum DlqAction {
    /// Print the messages in the queue's DLQ as JSON, without consuming them.
    List { queue: QueueName },
    /// Move every message of the queue's DLQ back to the queue.
    Redrive { queue: QueueName },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum QueueName {
    Shipping,
    Refunds,
}

impl QueueName {
    fn spec(self) -> queue::QueueSpec {
        let name = match self {
            Self::Shipping => "shipping",
            Self::Refunds => "refunds",
        };
        queue::QUEUES
            .into_iter()
            .find(|spec| spec.name == name)
            .unwrap_or(queue::QUEUES[0])
    }
}

/// Lists or redrives the dead letters of a queue.
pub async fn run(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    action: DlqAction,
) -> Result<(), BoxError> {
    let sqs = aws_sdk_sqs::Client::new(aws);
    let spec = match action {
        DlqAction::List { queue } | DlqAction::Redrive { queue } => queue.spec(),
    };
    let source = match settings.get(spec.url_env) {
        Some(url) => url.to_owned(),
        None => {
            let name = format!(
                "{}{}",
                settings.get("QUEUE_PREFIX").unwrap_or_default(),
                spec.name
            );
            sqs.get_queue_url()
                .queue_name(name)
                .send()
                .await?
                .queue_url
                .ok_or("no queue URL")?
        }
    };
    let dlq = dead_letter_queue(&sqs, &source).await?;
    match action {
        DlqAction::List { .. } => {
            let messages = peek(&sqs, &dlq).await?;
            println!("{}", serde_json::to_string_pretty(&messages)?);
        }
        DlqAction::Redrive { .. } => {
            let moved = redrive(&sqs, &dlq, &source).await?;
            println!("{}", serde_json::json!({"redriven": moved, "to": source}));
        }
    }
    Ok(())
}

/// The DLQ of `source`, from its redrive policy.
async fn dead_letter_queue(sqs: &aws_sdk_sqs::Client, source: &str) -> Result<String, BoxError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(source)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await?
        .attributes
        .unwrap_or_default();
    let policy: serde_json::Value = serde_json::from_str(
        attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .ok_or("the queue has no DLQ")?,
    )?;
    let arn = policy["deadLetterTargetArn"]
        .as_str()
        .ok_or("the redrive policy names no DLQ")?;
    let name = arn.rsplit(':').next().ok_or("a DLQ ARN without a name")?;
    Ok(sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await?
        .queue_url
        .ok_or("no DLQ URL")?)
}

/// Every message in `dlq`, received with no visibility timeout so that none
/// is hidden from its next reader.
async fn peek(sqs: &aws_sdk_sqs::Client, dlq: &str) -> Result<Vec<serde_json::Value>, BoxError> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        let before = seen.len();
        for message in received {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.clone().unwrap_or_default();
            let attributes = message.attributes.unwrap_or_default();
            let attribute = |name: MessageSystemAttributeName| attributes.get(&name).cloned();
            seen.entry(id.clone()).or_insert_with(|| {
                serde_json::json!({
                    "message_id": id,
                    "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body)),
                    "sent_at_ms": attribute(MessageSystemAttributeName::SentTimestamp),
                    "receive_count": attribute(MessageSystemAttributeName::ApproximateReceiveCount),
                })
            });
        }
        if seen.len() == before {
            break;
        }
    }
    Ok(seen.into_values().collect())
}

/// Moves every message of `dlq` back to `source`: send first, then delete,
/// so a failure half way duplicates a message rather than losing it (the
/// workers are idempotent).
async fn redrive(sqs: &aws_sdk_sqs::Client, dlq: &str, source: &str) -> Result<usize, BoxError> {
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return Ok(moved);
        }
        for message in received {
            sqs.send_message()
                .queue_url(source)
                .message_body(message.body.unwrap_or_default())
                .send()
                .await?;
            if let Some(handle) = message.receipt_handle {
                sqs.delete_message()
                    .queue_url(dlq)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
            moved += 1;
        }
    }
}
