//! What the shop sends, as the tests see it: the table's stream fed to the
//! notifier (as Lambda's event source mapping feeds it), the emails the
//! emulator's SES lists, and the events a rule puts on a queue.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use gateway::streams::StreamReader;
use serde_json::Value;
use shared::entry::worker::process_stream;
use shared::foundation::clock::Deadline;
use tokio::sync::Mutex;

use crate::{TestApp, require_env, unique};

/// The sender every test app's emails come from.
pub const TEST_EMAIL_FROM: &str = "shop@example.com";

/// A test app's stream reader, its bus's queue, and the emulator's list
/// of emails.
pub struct Outbox {
    reader: Mutex<StreamReader>,
    pub events_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl TestApp {
    /// A test app that sends: its own bus (with a rule to a queue of its
    /// own) and the SES identity, and the outbox to watch them by.
    pub async fn spawn_sending(overrides: &[(&str, &str)]) -> (Self, Outbox) {
        let aws = crate::emulator_config().await;
        let bus = unique("test-bus");
        let events_url =
            shared::adapters::outbound::create(&aws, TEST_EMAIL_FROM, &bus, &unique("test-events"))
                .await
                .expect("the bus, its queue and the identity");
        let mut settings = vec![("EMAIL_FROM", TEST_EMAIL_FROM), ("EVENT_BUS_NAME", bus.as_str())];
        settings.extend_from_slice(overrides);
        let app = Self::spawn_with(&settings).await;
        let reader = StreamReader::for_table(&aws, &app.app.store)
            .await
            .expect("the table's stream");
        let outbox = Outbox {
            reader: Mutex::new(reader),
            events_url,
            sqs: app.sqs.clone(),
        };
        (app, outbox)
    }
}

impl Outbox {
    /// Lambda's stream poller, until the stream is drained: each batch of
    /// new records to the notifier, the checkpoint moved past what it
    /// handled. The responses, one per batch.
    pub async fn deliver(&self, app: &shared::App) -> Vec<DynamoDbEventResponse> {
        self.deliver_with(app, 100).await
    }

    /// [`Self::deliver`] in batches of `batch_size`.
    pub async fn deliver_with(&self, app: &shared::App, batch_size: usize) -> Vec<DynamoDbEventResponse> {
        let mut reader = self.reader.lock().await;
        drain(&mut reader, app, batch_size).await.0
    }

    /// Every email the emulator's SES lists for `to`, oldest first.
    pub async fn emails_to(&self, to: &str) -> Vec<Value> {
        sent_emails(
            &shared::adapters::http_client().build().expect("an HTTP client"),
            to,
        )
        .await
    }

    /// Every event on the bus's queue now, as EventBridge delivered it
    /// (received once each).
    pub async fn events(&self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.events_url)
                .max_number_of_messages(10)
                .visibility_timeout(300)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                return all;
            }
            all.extend(
                received
                    .into_iter()
                    .filter_map(|m| m.body)
                    .map(|body| serde_json::from_str(&body).expect("an event as JSON")),
            );
        }
    }
}

/// Delivers the whole stream again from its start with a reader of its
/// own (Lambda retrying every batch): the responses and the records read.
pub async fn replay(app: &TestApp) -> (Vec<DynamoDbEventResponse>, usize) {
    let aws = crate::emulator_config().await;
    let mut reader = StreamReader::for_table(&aws, &app.app.store)
        .await
        .expect("the table's stream");
    drain(&mut reader, &app.app, 100).await
}

/// The whole stream from its start, as the indexer (the stream's second
/// reader) gets it: every batch to its handler. Each call reads every
/// record again, as Lambda retrying from the start would.
pub async fn index_all(app: &TestApp) -> (Vec<DynamoDbEventResponse>, usize) {
    let aws = crate::emulator_config().await;
    let mut reader = StreamReader::for_table(&aws, &app.app.store)
        .await
        .expect("the table's stream");
    drain_to(
        &mut reader,
        &app.app,
        100,
        shared::usecases::indexer::handle_change,
    )
    .await
}

/// Lambda's stream poller, until `reader` is drained or a batch reports a
/// failure: each batch of up to `batch_size` new records to the notifier,
/// the checkpoint moved past what it handled. The responses, one per
/// batch, and the records read.
async fn drain(
    reader: &mut StreamReader,
    app: &shared::App,
    batch_size: usize,
) -> (Vec<DynamoDbEventResponse>, usize) {
    drain_to(reader, app, batch_size, shared::usecases::notify::handle_change).await
}

/// [`drain`] to any stream consumer's handler.
async fn drain_to<'a, F, Fut>(
    reader: &mut StreamReader,
    app: &'a shared::App,
    batch_size: usize,
    handler: F,
) -> (Vec<DynamoDbEventResponse>, usize)
where
    F: Fn(&'a shared::App, shared::adapters::store::TableChange) -> Fut + Copy,
    Fut: std::future::Future<Output = Result<(), shared::Error>>,
{
    let mut responses = Vec::new();
    let mut count = 0;
    loop {
        let records = reader.read(batch_size).await.expect("the stream's records");
        if records.is_empty() {
            return (responses, count);
        }
        count += records.len();
        let mut event = Event::default();
        event.records = records.clone();
        let response = process_stream(
            app,
            event,
            Deadline::after(std::time::Duration::from_secs(60)),
            handler,
        )
        .await;
        let failed = response
            .batch_item_failures
            .first()
            .and_then(|failure| failure.item_identifier.clone());
        reader.acknowledge(&records, failed.as_deref());
        responses.push(response);
        if failed.is_some() {
            return (responses, count);
        }
    }
}

/// Every email the emulator's SES lists for `to` (`GET
/// <AWS_ENDPOINT_URL>/_ministack/ses/messages`), oldest first.
pub async fn sent_emails(client: &reqwest::Client, to: &str) -> Vec<Value> {
    let endpoint = require_env("AWS_ENDPOINT_URL");
    let listed: Value = client
        .get(format!(
            "{}/_ministack/ses/messages",
            endpoint.trim_end_matches('/')
        ))
        .send()
        .await
        .expect("the emulator's list of sent messages")
        .json()
        .await
        .expect("JSON");
    listed["messages"]
        .as_object()
        .into_iter()
        .flat_map(|accounts| accounts.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter(|message| {
            message["To"]
                .as_array()
                .is_some_and(|list| list.iter().any(|t| t == to))
        })
        .cloned()
        .collect()
}

/// One invocation of the notifier on the next batch (up to 10 records),
/// killed (`Some(cut)`) after its first `cut` records: those are
/// handled, the rest never start, and (the invocation having failed) the
/// checkpoint stays where it was, so Lambda delivers the whole batch
/// again. With `None`, or a batch of `cut` records or fewer, it completes.
/// Whether the stream was drained, and whether the invocation was killed.
pub async fn deliver_until_killed(
    app: &TestApp,
    outbox: &Outbox,
    cut: Option<usize>,
) -> (Vec<DynamoDbEventResponse>, bool, bool) {
    let mut reader = outbox.reader.lock().await;
    let records = reader.read(10).await.expect("the stream's records");
    if records.is_empty() {
        return (Vec::new(), true, false);
    }
    let cut = cut.unwrap_or(records.len());
    let killed = cut < records.len();
    let mut event = Event::default();
    event.records = records.iter().take(cut).cloned().collect();
    let response = process_stream(
        &app.app,
        event,
        Deadline::after(std::time::Duration::from_secs(60)),
        shared::usecases::notify::handle_change,
    )
    .await;
    if !killed {
        reader.acknowledge(&records, None);
    }
    (vec![response], false, killed)
}
