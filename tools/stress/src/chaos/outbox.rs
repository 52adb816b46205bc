//! What the notifier owed and what it sent, for the invariant that every
//! change of an order is emailed and published exactly once: the table's
//! stream read whole (each order change's notice, by the model), the
//! emulator's list of emails SES sent, and the events the bus's rule put
//! on the run's queue.

use std::collections::BTreeMap;

use gateway::streams::StreamReader;
use serde_json::Value;
use shared::BoxError;
use shared::adapters::store::{Store, TableChange};
use shared::model::events;

use super::snapshot::Snapshot;

/// One change of an order that calls for an email, an event, or both.
#[derive(Debug, Clone)]
pub struct Owed {
    pub order: String,
    pub email: bool,
    pub event: Option<&'static str>,
}

/// The stream read so far and what it owes, by event id.
pub struct Outbox {
    reader: StreamReader,
    pub owed: BTreeMap<String, Owed>,
    sqs: aws_sdk_sqs::Client,
    events_url: Option<String>,
    http: reqwest::Client,
    emulator: String,
    /// The events taken off the run's queue so far.
    pub events: Vec<Value>,
}

impl Outbox {
    pub async fn connect(emulator: &str, table: &str) -> Result<Self, BoxError> {
        let aws = shared::adapters::aws_defaults()?
            .endpoint_url(emulator)
            .load()
            .await;
        let store = Store::new(Store::client_for(&aws), table);
        Ok(Self {
            reader: StreamReader::for_table(&aws, &store).await?,
            owed: BTreeMap::new(),
            sqs: aws_sdk_sqs::Client::new(&aws),
            events_url: std::env::var("EVENTS_QUEUE_URL").ok().filter(|u| !u.is_empty()),
            http: shared::adapters::http_client().build()?,
            emulator: emulator.trim_end_matches('/').to_owned(),
            events: Vec::new(),
        })
    }

    /// Reads the stream's new records (never acknowledging: a reader of its
    /// own moves on by itself) and notes what each order change owes.
    pub async fn read(&mut self) -> Result<(), BoxError> {
        loop {
            let records = self.reader.read(1000).await?;
            if records.is_empty() {
                return Ok(());
            }
            self.reader.acknowledge(&records, None);
            for record in records {
                let change = shared::entry::worker::table_change(record)?;
                if let TableChange::Order { before, after, seq } = change {
                    let notice = events::order_notice(before.map(|order| order.status), after.status);
                    if notice.email.is_some() || notice.event.is_some() {
                        self.owed.insert(
                            events::event_id(&after.id, seq),
                            Owed {
                                order: after.id.to_string(),
                                email: notice.email.is_some(),
                                event: notice.event.map(events::EventType::as_str),
                            },
                        );
                    }
                }
            }
        }
    }

    /// How many owed notifications have no claim done yet.
    pub fn unfinished(&self, snapshot: &Snapshot) -> usize {
        let done = |channel: &str, id: &str| {
            snapshot
                .claims
                .get(&(channel.to_owned(), id.to_owned()))
                .is_some_and(|claim| claim["state"] == "done")
        };
        self.owed
            .iter()
            .filter(|(id, owed)| {
                (owed.email && !done("email", id)) || (owed.event.is_some() && !done("bus", id))
            })
            .count()
            + snapshot.low_stock_gaps().len()
    }

    /// Takes every event now on the run's queue.
    pub async fn drain_events(&mut self) -> Result<(), BoxError> {
        let Some(url) = &self.events_url else {
            return Ok(());
        };
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .wait_time_seconds(1)
                .send()
                .await?
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                return Ok(());
            }
            for message in received {
                if let Some(body) = message.body {
                    self.events.push(serde_json::from_str(&body)?);
                }
            }
        }
    }

    /// Every email the emulator's SES lists.
    pub async fn emails(&self) -> Result<Vec<Value>, BoxError> {
        let listed: Value = self
            .http
            .get(format!("{}/_ministack/ses/messages", self.emulator))
            .send()
            .await?
            .json()
            .await?;
        Ok(listed["messages"]
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(Value::as_array)
            .flatten()
            .cloned()
            .collect())
    }

    /// Whether events were read at all (the run has a bus queue).
    pub fn reads_events(&self) -> bool {
        self.events_url.is_some()
    }
}
