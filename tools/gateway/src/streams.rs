//! DynamoDB Streams event source mapping emulation: reads the table's
//! stream from its start and invokes the consumer with real stream event
//! batches, in order, as Lambda does. A record the function reports in
//! `batchItemFailures` (or a failed invocation) is read again with every
//! record after it; the reader checkpoints only past what succeeded.

use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};

use crate::lambda::Invoker;

/// A record as Lambda hands it to a function.
pub fn event_record(record: Record, region: &str, arn: &str) -> EventRecord {
    let mut event = EventRecord::default();
    event.aws_region = region.to_owned();
    event.event_id = record.event_id.unwrap_or_default();
    event.event_name = record
        .event_name
        .map(|name| name.as_str().to_owned())
        .unwrap_or_default();
    event.event_source = Some("aws:dynamodb".into());
    event.event_version = record.event_version;
    event.event_source_arn = Some(arn.to_owned());
    if let Some(change) = record.dynamodb {
        event.change.keys = change.keys.unwrap_or_default().into();
        event.change.new_image = change.new_image.unwrap_or_default().into();
        event.change.old_image = change.old_image.unwrap_or_default().into();
        event.change.sequence_number = change.sequence_number;
        event.change.size_bytes = change.size_bytes.unwrap_or_default();
    }
    event
}

/// A reader of one table's stream (every shard, from its start), that
/// hands out batches and moves on only past what was acknowledged.
pub struct StreamReader {
    client: Client,
    arn: String,
    region: String,
    /// Per shard: its id and the sequence number last acknowledged.
    checkpoints: Vec<(String, Option<String>)>,
}

impl StreamReader {
    /// The reader of `table`'s latest stream.
    pub async fn for_table(
        aws: &aws_config::SdkConfig,
        dynamodb: &shared::adapters::store::Store,
    ) -> Result<Self, String> {
        let arn = dynamodb
            .client()
            .describe_table()
            .table_name(dynamodb.table())
            .send()
            .await
            .map_err(|err| {
                format!(
                    "DescribeTable: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err)
                )
            })?
            .table
            .and_then(|table| table.latest_stream_arn)
            .ok_or("the table has no stream")?;
        Ok(Self {
            client: Client::new(aws),
            arn,
            region: aws
                .region()
                .map(ToString::to_string)
                .unwrap_or_else(|| "us-east-1".into()),
            checkpoints: Vec::new(),
        })
    }

    /// Every record after the checkpoints, at most `limit`, in order.
    pub async fn read(&mut self, limit: usize) -> Result<Vec<EventRecord>, String> {
        let shards = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .map_err(|err| {
                format!(
                    "DescribeStream: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err)
                )
            })?
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        for shard in &shards {
            let id = shard.shard_id.clone().unwrap_or_default();
            if !self.checkpoints.iter().any(|(known, _)| *known == id) {
                self.checkpoints.push((id, None));
            }
        }
        let mut records = Vec::new();
        for (shard, after) in &self.checkpoints {
            let request = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.arn)
                .shard_id(shard);
            let request = match after {
                Some(sequence) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(sequence),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut iterator = request
                .send()
                .await
                .map_err(|err| {
                    format!(
                        "GetShardIterator: {}",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err)
                    )
                })?
                .shard_iterator;
            while let Some(current) = iterator.take() {
                let page = self
                    .client
                    .get_records()
                    .shard_iterator(current)
                    .limit(i32::try_from(limit).unwrap_or(100))
                    .send()
                    .await
                    .map_err(|err| {
                        format!(
                            "GetRecords: {}",
                            aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err)
                        )
                    })?;
                let got = page.records.unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                records.extend(got.into_iter().map(|r| event_record(r, &self.region, &self.arn)));
                if records.len() >= limit {
                    records.truncate(limit);
                    return Ok(records);
                }
                iterator = page.next_shard_iterator;
            }
        }
        Ok(records)
    }

    /// Moves the checkpoint of every shard past `records`, but for the
    /// first one `failed` names and all after it.
    pub fn acknowledge(&mut self, records: &[EventRecord], failed: Option<&str>) {
        for record in records {
            let sequence = record.change.sequence_number.clone();
            if failed.is_some() && sequence.as_deref() == failed {
                return;
            }
            // One shard locally: the last acknowledged record's shard is
            // the only one.
            if let Some((_, checkpoint)) = self.checkpoints.first_mut() {
                *checkpoint = sequence;
            }
        }
    }
}

/// Feeds `binary` from `reader` until the process ends.
pub async fn run(invoker: Invoker, binary: String, mut reader: StreamReader, batch_size: usize) {
    loop {
        let records = match reader.read(batch_size).await {
            Ok(records) => records,
            Err(err) => {
                eprintln!("gateway: stream -> {binary}: {err}");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if records.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let mut event = Event::default();
        event.records = records.clone();
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let failed = match invoker.invoke(&binary, payload, None).await {
            Ok(bytes) => match serde_json::from_slice::<DynamoDbEventResponse>(&bytes) {
                Ok(response) => response
                    .batch_item_failures
                    .into_iter()
                    .find_map(|failure| failure.item_identifier),
                Err(_) => records.first().and_then(|r| r.change.sequence_number.clone()),
            },
            Err(err) => {
                eprintln!("gateway: {binary}: {err}");
                records.first().and_then(|r| r.change.sequence_number.clone())
            }
        };
        reader.acknowledge(&records, failed.as_deref());
        if failed.is_some() {
            eprintln!("gateway: stream -> {binary}: a record failed; it comes again");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
