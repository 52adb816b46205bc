//! SQS event source mapping emulation: polls each queue a function consumes
//! and invokes it with real SQS event batches, as Lambda does.
//!
//! Records the function reports in `batchItemFailures` (or the whole batch,
//! if the invocation fails) are left on the queue: they come back after the
//! queue's visibility timeout, and the queue's redrive policy moves them to
//! the DLQ after `maxReceiveCount` receives. The rest are deleted.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};

use crate::lambda::Invoker;
use crate::template::{Event, Function};

/// A function fed by a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub binary: String,
    /// The queue's logical id in `template.yaml`.
    pub queue: String,
    pub batch_size: u32,
}

pub fn sources(functions: &[Function]) -> Vec<Source> {
    functions
        .iter()
        .flat_map(|function| {
            function.events.iter().filter_map(|event| match event {
                Event::Queue { queue, batch_size } => Some(Source {
                    binary: function.binary.clone(),
                    queue: queue.clone(),
                    batch_size: *batch_size,
                }),
                _ => None,
            })
        })
        .collect()
}

/// The URL of a queue by logical id, from the environment variable its
/// producers read (`ShippingQueue` → `SHIPPING_QUEUE_URL`).
pub fn queue_url(logical_id: &str) -> Option<String> {
    shared::adapters::queue::QUEUES
        .iter()
        .find(|spec| spec.logical_id == logical_id)
        .and_then(|spec| std::env::var(spec.url_env).ok())
        .filter(|url| !url.is_empty())
}

fn record(message: aws_sdk_sqs::types::Message, arn: &str, region: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id;
    record.receipt_handle = message.receipt_handle;
    record.body = message.body;
    record.md5_of_body = message.md5_of_body;
    record.attributes = message
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name.as_str().to_owned(), value))
        .collect::<HashMap<_, _>>();
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(arn.to_owned());
    record.aws_region = Some(region.to_owned());
    record
}

/// Polls `url` for `source` until the process ends.
pub async fn run(client: Client, invoker: Invoker, source: Source, url: String) {
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .ok()
        .and_then(|out| out.attributes)
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    loop {
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(i32::try_from(source.batch_size.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(err) => {
                eprintln!(
                    "gateway: {}: receive failed: {}",
                    source.queue,
                    aws_sdk_sqs::error::DisplayErrorContext(&err)
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages.into_iter().map(|m| record(m, &arn, &region)).collect();
        let handles: Vec<(String, String)> = event
            .records
            .iter()
            .filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?)))
            .collect();
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let failed: HashSet<String> = match invoker.invoke(&source.binary, payload, None).await {
            Ok(bytes) => match serde_json::from_slice::<SqsBatchResponse>(&bytes) {
                Ok(response) => response
                    .batch_item_failures
                    .into_iter()
                    .map(|failure| failure.item_identifier)
                    .collect(),
                Err(_) => handles.iter().map(|(id, _)| id.clone()).collect(),
            },
            Err(err) => {
                eprintln!("gateway: {}: {err}", source.binary);
                handles.iter().map(|(id, _)| id.clone()).collect()
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = handles
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .filter_map(|(id, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_"))
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        eprintln!(
            "gateway: {} -> {}: {} handled, {} left for retry",
            source.queue,
            source.binary,
            done.len(),
            failed.len()
        );
        if !done.is_empty()
            && let Err(err) = client
                .delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(done))
                .send()
                .await
        {
            eprintln!(
                "gateway: {}: delete failed: {}",
                source.queue,
                aws_sdk_sqs::error::DisplayErrorContext(&err)
            );
        }
    }
}
