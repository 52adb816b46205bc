//! Entry points of the functions that no HTTP request invokes: scheduled
//! (EventBridge) ones, the SQS queue workers and the table's stream
//! consumer.

use std::future::Future;

use std::collections::HashMap;

use aws_lambda_events::dynamodb;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

/// The event EventBridge sends on a schedule.
pub type ScheduledEvent = EventBridgeEvent<Value>;

use crate::adapters::store::TableChange;
use crate::app::App;
use crate::app::parts::Parts;
use crate::entry::runtime;
use crate::foundation::clock::Deadline;
use crate::foundation::error::{BoxError, Error};
use crate::model::messages::Message;

/// The time a run gets when the runtime gave no usable deadline.
const LOCAL_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a scheduled function: `handler` gets each EventBridge event and
/// the invocation's deadline; its report is logged and returned; an error
/// fails the invocation (so EventBridge retries it and the error metric
/// counts it).
pub fn run_scheduled<P, F, Fut, R>(parts: P, handler: F) -> Result<(), BoxError>
where
    P: Parts,
    F: Fn(&'static App, EventBridgeEvent<Value>, Deadline) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Error>> + Send + 'static,
    R: Serialize + std::fmt::Debug + Send + 'static,
{
    runtime::start(parts, |app| {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<Value>>| {
            let deadline = Deadline::at_epoch_millis(event.context.deadline, LOCAL_BUDGET);
            let run = handler(app, event.payload, deadline);
            async move {
                match run.await {
                    Ok(report) => {
                        tracing::info!(?report, "scheduled run finished");
                        Ok(report)
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "scheduled run failed");
                        Err(lambda_runtime::Error::from(err.to_string()))
                    }
                }
            }
        }))
    })
}

/// Runs a queue worker: each record of an SQS batch is parsed and handed to
/// `handler` on its own; the ones that fail are reported back
/// (`ReportBatchItemFailures`), so one bad message never fails its batch
/// mates, and a message that keeps failing ends in the DLQ.
pub fn run_sqs<P, F, Fut, R>(parts: P, handler: F) -> Result<(), BoxError>
where
    P: Parts,
    F: Fn(&'static App, Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Error>> + Send + 'static,
    R: std::fmt::Debug + Send + 'static,
{
    let handler = std::sync::Arc::new(handler);
    runtime::start(parts, |app| {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
            let handler = std::sync::Arc::clone(&handler);
            let deadline = Deadline::at_epoch_millis(event.context.deadline, LOCAL_BUDGET);
            async move {
                Ok::<_, lambda_runtime::Error>(
                    process_batch(app, event.payload, deadline, |app, m| handler(app, m)).await,
                )
            }
        }))
    })
}

/// A batch is not started with less time than this left: the longest one
/// record may take (a provider call times out at 8 s, and its store writes
/// take milliseconds). The records of a batch run at once, so a batch takes
/// about as long as its slowest record: a batch of 10 at the provider's
/// slowest fits the workers' 20 s timeout (docs/decisions/0015-queue-workers.md).
pub const RECORD_BUDGET: std::time::Duration = std::time::Duration::from_secs(9);

/// One batch, its records handled concurrently (the body of [`run_sqs`],
/// public so that tests can drive a worker with real SQS batches). Records
/// that fail are reported (`batchItemFailures`) and come back after the
/// visibility timeout, each receive counting towards the DLQ.
///
/// A batch that arrives with too little time left to start (less than
/// [`RECORD_BUDGET`]) is not tried at all: each record is sent again as a
/// new message (the consumers are idempotent, so a copy changes nothing)
/// and acknowledged, so that waiting costs no receive of its redrive
/// budget; only a record whose copy cannot be sent is reported back.
pub async fn process_batch<'a, F, Fut, R>(
    app: &'a App,
    batch: SqsEvent,
    deadline: Deadline,
    handler: F,
) -> SqsBatchResponse
where
    F: Fn(&'a App, Message) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
    R: std::fmt::Debug,
{
    let mut response = SqsBatchResponse::default();
    let failed = |id: String| {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        failure
    };
    if deadline.remaining() < RECORD_BUDGET {
        for record in batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            match send_again(app, record.body.as_deref()).await {
                Ok(()) => {
                    tracing::warn!(message_id = %id, "no time left to start this message; sent again as a new one")
                }
                Err(reason) => {
                    tracing::warn!(message_id = %id, %reason, "no time left, and it could not be sent again; it will come back");
                    response.batch_item_failures.push(failed(id));
                }
            }
        }
        return response;
    }
    let handler = &handler;
    let outcomes = futures::future::join_all(batch.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match record.body.as_deref().map(Message::parse) {
            None => Err("a record without a body".to_owned()),
            Some(Err(reason)) => Err(reason),
            Some(Ok(message)) => handler(app, message).await.map_err(|err| err.to_string()),
        };
        (id, outcome)
    }))
    .await;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(done) => tracing::info!(message_id = %id, outcome = ?done, "message handled"),
            Err(reason) => {
                tracing::error!(message_id = %id, %reason, "message failed; it will be retried");
                response.batch_item_failures.push(failed(id));
            }
        }
    }
    response
}

/// A record's message sent again to its queue, as a new message.
async fn send_again(app: &App, body: Option<&str>) -> Result<(), String> {
    let message = Message::parse(body.ok_or("a record without a body")?)?;
    app.queues()
        .map_err(|err| err.to_string())?
        .send(&message)
        .await
        .map_err(|err| err.to_string())
}

/// A stream batch is not started, nor its next record, with less time than
/// this left: one record's sends (SES and EventBridge answer in well under
/// a second; the SDK's retries stop within a few).
pub const STREAM_RECORD_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs a DynamoDB stream consumer: each record's change is decoded and
/// handed to `handler`, in the stream's order. At the first record that
/// fails (or that there is no time left for) the batch stops and reports
/// it (`ReportBatchItemFailures`): Lambda checkpoints before it and
/// delivers it and every later record again, so no change is skipped and
/// an order's changes are never handled out of order.
pub fn run_stream<P, F, Fut>(parts: P, handler: F) -> Result<(), BoxError>
where
    P: Parts,
    F: Fn(&'static App, TableChange) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let handler = std::sync::Arc::new(handler);
    runtime::start(parts, |app| {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<dynamodb::Event>| {
            let handler = std::sync::Arc::clone(&handler);
            let deadline = Deadline::at_epoch_millis(event.context.deadline, LOCAL_BUDGET);
            async move {
                Ok::<_, lambda_runtime::Error>(
                    process_stream(app, event.payload, deadline, |app, change| handler(app, change)).await,
                )
            }
        }))
    })
}

/// One stream batch (the body of [`run_stream`], public so that tests
/// drive the notifier with real stream records).
pub async fn process_stream<'a, F, Fut>(
    app: &'a App,
    batch: dynamodb::Event,
    deadline: Deadline,
    handler: F,
) -> DynamoDbEventResponse
where
    F: Fn(&'a App, TableChange) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut response = DynamoDbEventResponse::default();
    let changes: Vec<(Option<String>, Result<TableChange, String>)> = batch
        .records
        .into_iter()
        .map(|record| {
            let sequence = record.change.sequence_number.clone();
            let change = table_change(record).map_err(|err| format!("cannot read the record: {err}"));
            (sequence, change)
        })
        .collect();
    let covered = covered_later(changes.iter().map(|(_, change)| change.as_ref().ok()));
    for ((sequence, change), covered) in changes.into_iter().zip(covered) {
        let outcome = if deadline.remaining() < STREAM_RECORD_BUDGET {
            Err("no time left to start it".to_owned())
        } else {
            match change {
                Ok(_) if covered => Ok(()),
                Ok(change) => handler(app, change).await.map_err(|err| err.to_string()),
                Err(err) => Err(err),
            }
        };
        if let Err(reason) = outcome {
            tracing::warn!(sequence = ?sequence, %reason, "stream record not done; it and the records after it come again");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

/// Which changes of a batch a later one in it covers: a product's stock
/// is judged from the product as it is when read, not from the record, so
/// of a flash sale's many records of one product only the batch's last is
/// read (a failure before it leaves it, and the records after, to come
/// again).
fn covered_later<'a>(changes: impl Iterator<Item = Option<&'a TableChange>>) -> Vec<bool> {
    let changes: Vec<Option<&TableChange>> = changes.collect();
    let mut seen = std::collections::HashSet::new();
    let mut covered: Vec<bool> = changes
        .iter()
        .rev()
        .map(|change| match change {
            Some(TableChange::Stock(product)) => !seen.insert(product.clone()),
            _ => false,
        })
        .collect();
    covered.reverse();
    covered
}

/// What a stream record (as Lambda hands it over) says changed.
pub fn table_change(record: dynamodb::EventRecord) -> Result<TableChange, Error> {
    let image = |item: serde_dynamo::Item| {
        let item: HashMap<String, AttributeValue> = item.into();
        (!item.is_empty()).then_some(item)
    };
    let keys: HashMap<String, AttributeValue> = record.change.keys.into();
    TableChange::decode(
        &keys,
        image(record.change.old_image),
        image(record.change.new_image),
    )
}

/// Runs an SNS subscriber: `handler` gets each record's message; an error
/// fails the invocation, and SNS delivers it again (Lambda's asynchronous
/// retries, then the function's on-failure destination).
pub fn run_sns<P, F, Fut>(parts: P, handler: F) -> Result<(), BoxError>
where
    P: Parts,
    F: Fn(&'static App, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let handler = std::sync::Arc::new(handler);
    runtime::start(parts, |app| {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| {
            let handler = std::sync::Arc::clone(&handler);
            async move {
                for record in event.payload.records {
                    if let Err(err) = handler(app, record.sns.message).await {
                        tracing::error!(error = %err, "notification not handled; SNS delivers it again");
                        return Err(lambda_runtime::Error::from(err.to_string()));
                    }
                }
                Ok::<_, lambda_runtime::Error>(())
            }
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::orders::OrderStatus;

    #[test]
    fn of_one_products_stock_changes_in_a_batch_only_the_last_is_read() {
        let (a, b) = (
            crate::model::products::ProductId::new(),
            crate::model::products::ProductId::new(),
        );
        let changes = [
            Some(TableChange::Stock(a.clone())),
            Some(TableChange::Other),
            Some(TableChange::Stock(b.clone())),
            None,
            Some(TableChange::Stock(a)),
            Some(TableChange::Stock(b)),
        ];
        assert_eq!(
            covered_later(changes.iter().map(Option::as_ref)),
            [true, false, true, false, false, false]
        );
    }

    /// `events/email-feedback.json` is SNS's delivery of SES's permanent
    /// bounce: its recipient is suppressed.
    #[test]
    fn the_feedback_sample_event_suppresses_its_bounced_recipient() {
        let event: SnsEvent =
            serde_json::from_str(include_str!("../../../events/email-feedback.json")).expect("an SNS event");
        let message = &event.records.first().expect("a record").sns.message;
        let found = crate::model::emails::feedback::suppressions(message);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.as_str(), "gone@example.com");
    }

    /// `events/notifier.json`, the notifier's sample, is a stream record
    /// the notifier reads as the order's payment (change 2).
    #[test]
    fn the_notifiers_sample_event_is_an_orders_change() {
        let event: dynamodb::Event =
            serde_json::from_str(include_str!("../../../events/notifier.json")).expect("a stream event");
        let record = event.records.into_iter().next().expect("a record");
        let change = table_change(record).expect("decoded");
        match change {
            TableChange::Order { before, after, seq } => {
                assert_eq!(
                    (before.map(|order| order.status), after.status, seq),
                    (Some(OrderStatus::PendingPayment), OrderStatus::Paid, 2)
                );
            }
            other => panic!("not read as an order's change: {other:?}"),
        }
    }
}
