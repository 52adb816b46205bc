//! Emulator conformance: the local DynamoDB and SQS (and the Streams, SES
//! v2 and EventBridge the notifications will use) behave as AWS does in
//! every respect the shop's guarantees rest on. These tests check the
//! emulator, not the shop: a failure names the behaviour the emulator broke,
//! and until it is fixed no other test's result means much.
//!
//! `make test` runs them first, on their own; `CONFORMANCE_ROUNDS` sets how
//! many rounds the concurrency race runs (default 60: a race lost once in 12
//! trials escapes 60 rounds with probability (11/12)^60, under 0.6 %).

mod conformance {
    use aws_sdk_dynamodb::Client as DynamoDb;
    use aws_sdk_dynamodb::error::SdkError;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::{
        AttributeValue, ConditionCheck, KeysAndAttributes, Put, TimeToLiveStatus, TransactWriteItem, Update,
    };
    use aws_sdk_sqs::Client as Sqs;
    use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
    use shared::adapters::queue;
    use shared::adapters::store;
    use shop_tests::{emulator_config, unique};
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    type Item = HashMap<String, AttributeValue>;

    fn s(value: impl Into<String>) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    fn n(value: i64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([("PK".into(), s(pk)), ("SK".into(), s(sk))])
    }

    fn number(item: &Item, name: &str) -> Option<i64> {
        match item.get(name) {
            Some(AttributeValue::N(value)) => value.parse().ok(),
            _ => None,
        }
    }

    /// A fresh table made from the shop's own definition (keys, GSIs and
    /// their projections, TTL), and a client for it.
    async fn table() -> (DynamoDb, String) {
        let client = DynamoDb::new(&emulator_config().await);
        let name = unique("conformance");
        store::create_table(&client, &name)
            .await
            .expect("create the table");
        (client, name)
    }

    async fn get(client: &DynamoDb, table: &str, pk: &str, sk: &str) -> Option<Item> {
        client
            .get_item()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
    }

    async fn put(client: &DynamoDb, table: &str, item: Item) {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem");
    }

    /// The cancellation reasons of a cancelled transaction, item by item;
    /// `None` for any other outcome.
    fn cancellation<R>(result: &Result<R, SdkError<TransactWriteItemsError>>) -> Option<Vec<String>> {
        match result.as_ref().err()?.as_service_error()? {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_owned())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// One buyer's order: take a unit if one is left, and write the order.
    fn take_one(table: &str, pk: &str, buyer: usize) -> Vec<TransactWriteItem> {
        let decrement = Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, "STOCK")))
            .update_expression("SET stock = stock - :one")
            .condition_expression("stock >= :one")
            .expression_attribute_values(":one", n(1))
            .build()
            .expect("update");
        let order = Put::builder()
            .table_name(table)
            .set_item(Some(key(pk, &format!("ORDER#{buyer:02}"))))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("put");
        vec![
            TransactWriteItem::builder().update(decrement).build(),
            TransactWriteItem::builder().put(order).build(),
        ]
    }

    #[tokio::test]
    async fn concurrent_conditional_transactions_never_lose_an_update() {
        const STOCK: i64 = 10;
        const BUYERS: usize = 30;
        let rounds: usize = std::env::var("CONFORMANCE_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let (client, table) = table().await;
        for round in 0..rounds {
            let pk = format!("RACE#{round}");
            let mut stock = key(&pk, "STOCK");
            stock.insert("stock".into(), n(STOCK));
            put(&client, &table, stock).await;

            let attempts = (0..BUYERS).map(|buyer| {
                client
                    .transact_write_items()
                    .set_transact_items(Some(take_one(&table, &pk, buyer)))
                    .send()
            });
            let results = futures::future::join_all(attempts).await;
            let sold = results.iter().filter(|r| r.is_ok()).count() as i64;
            let mut condition_failed = false;
            for result in results.iter().filter(|r| r.is_err()) {
                let codes = cancellation(result).unwrap_or_else(|| {
                    panic!("round {round}: a failed transaction was not cancelled: {result:?}")
                });
                assert!(
                    codes[1] == "None"
                        && matches!(
                            codes[0].as_str(),
                            "ConditionalCheckFailed" | "TransactionConflict"
                        ),
                    "round {round}: unexpected cancellation reasons {codes:?}"
                );
                condition_failed |= codes[0] == "ConditionalCheckFailed";
            }
            let left = get(&client, &table, &pk, "STOCK")
                .await
                .and_then(|item| number(&item, "stock"))
                .expect("the stock item");
            let orders = client
                .query()
                .table_name(&table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :order)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":order", s("ORDER#"))
                .consistent_read(true)
                .send()
                .await
                .expect("Query")
                .count as i64;
            assert!(
                sold <= STOCK && left + sold == STOCK && orders == sold,
                "round {round}: lost update: {sold} transactions committed, {orders} orders written, \
                 stock {STOCK} -> {left}; the emulator does not isolate concurrent transactions"
            );
            if condition_failed {
                assert_eq!(
                    left, 0,
                    "round {round}: a condition `stock >= 1` failed while stock was left"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_failed_condition_check_cancels_the_whole_transaction_with_reasons_in_order() {
        let (client, table) = table().await;
        let mut counter = key("CHECK#1", "COUNTER");
        counter.insert("count".into(), n(1));
        put(&client, &table, counter).await;

        let write = Put::builder()
            .set_item(Some(key("CHECK#1", "WRITTEN")))
            .condition_expression("attribute_not_exists(PK)")
            .table_name(&table)
            .build()
            .expect("put");
        let missing = ConditionCheck::builder()
            .set_key(Some(key("CHECK#1", "ABSENT")))
            .condition_expression("attribute_exists(PK)")
            .table_name(&table)
            .build()
            .expect("check");
        let bump = Update::builder()
            .set_key(Some(key("CHECK#1", "COUNTER")))
            .update_expression("ADD #count :one")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .table_name(&table)
            .build()
            .expect("update");
        let result = client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(write.clone()).build())
            .transact_items(TransactWriteItem::builder().condition_check(missing).build())
            .transact_items(TransactWriteItem::builder().update(bump.clone()).build())
            .send()
            .await;
        assert_eq!(
            cancellation(&result),
            Some(vec![
                "None".into(),
                "ConditionalCheckFailed".into(),
                "None".into()
            ]),
            "TransactionCanceledException with one reason per item, in order: {result:?}"
        );
        assert_eq!(
            get(&client, &table, "CHECK#1", "WRITTEN").await,
            None,
            "nothing written"
        );
        let counter = get(&client, &table, "CHECK#1", "COUNTER").await.expect("counter");
        assert_eq!(number(&counter, "count"), Some(1), "nothing updated");

        // A passing check lets the transaction commit.
        let present = ConditionCheck::builder()
            .set_key(Some(key("CHECK#1", "COUNTER")))
            .condition_expression("attribute_exists(PK)")
            .table_name(&table)
            .build()
            .expect("check");
        client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(write).build())
            .transact_items(TransactWriteItem::builder().condition_check(present).build())
            .send()
            .await
            .expect("a transaction whose checks pass commits");
        assert!(get(&client, &table, "CHECK#1", "WRITTEN").await.is_some());

        // A plain conditional write fails with ConditionalCheckFailedException.
        let again = client
            .put_item()
            .table_name(&table)
            .set_item(Some(key("CHECK#1", "WRITTEN")))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        assert!(
            matches!(
                again.as_ref().err().and_then(|e| e.as_service_error()),
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
            ),
            "{again:?}"
        );
    }

    #[tokio::test]
    async fn add_creates_increments_and_decrements_numbers() {
        let (client, table) = table().await;
        let add = |delta: i64, condition: Option<&'static str>| {
            client
                .update_item()
                .table_name(&table)
                .set_key(Some(key("PRODUCT#1", "PRODUCT")))
                .update_expression("ADD stock :delta, rating_count :one, rating_sum :delta")
                .set_condition_expression(condition.map(str::to_owned))
                .expression_attribute_values(":delta", n(delta))
                .expression_attribute_values(":one", n(1))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
        };
        let created = add(5, None).await.expect("ADD to an absent item");
        let attributes = created.attributes.expect("ALL_NEW");
        assert_eq!(
            number(&attributes, "stock"),
            Some(5),
            "ADD to an absent attribute starts at 0"
        );
        let added = add(-2, Some("stock >= :one"))
            .await
            .expect("ADD a negative number");
        let attributes = added.attributes.expect("ALL_NEW");
        assert_eq!(number(&attributes, "stock"), Some(3));
        assert_eq!(number(&attributes, "rating_count"), Some(2));
        assert_eq!(number(&attributes, "rating_sum"), Some(3));
        let stored = get(&client, &table, "PRODUCT#1", "PRODUCT")
            .await
            .expect("stored");
        assert_eq!(
            number(&stored, "stock"),
            Some(3),
            "ADD is stored, not only returned"
        );
    }

    #[tokio::test]
    async fn sparse_indexes_hold_exactly_the_items_with_their_keys_projecting_what_they_name() {
        let (client, table) = table().await;
        let gsis = store::GSIS;
        for (i, gsi) in gsis.iter().enumerate() {
            let partition = format!("LISTING#{i}");
            for id in 0..5 {
                let mut item = key(&format!("ITEM#{id}"), "ITEM");
                item.insert("name".into(), s(format!("item {id}")));
                item.insert("stock".into(), n(id));
                item.insert("status".into(), s("PAID"));
                if id != 2 {
                    item.insert(gsi.partition_key.into(), s(&partition));
                    item.insert(gsi.sort_key.into(), s(format!("2026-01-0{id}#{id}")));
                }
                put(&client, &table, item).await;
            }
            // Removing the keys takes an item out of the index.
            client
                .update_item()
                .table_name(&table)
                .set_key(Some(key("ITEM#4", "ITEM")))
                .update_expression("REMOVE #pk, #sk")
                .expression_attribute_names("#pk", gsi.partition_key)
                .expression_attribute_names("#sk", gsi.sort_key)
                .send()
                .await
                .expect("REMOVE the index keys");
            // Pages of two, newest first, continued from LastEvaluatedKey.
            let mut seen = Vec::new();
            let mut start: Option<Item> = None;
            loop {
                let page = client
                    .query()
                    .table_name(&table)
                    .index_name(gsi.name)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", gsi.partition_key)
                    .expression_attribute_values(":pk", s(&partition))
                    .scan_index_forward(false)
                    .limit(2)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .expect("Query the index");
                for item in page.items() {
                    if gsi.projected.is_empty() {
                        assert!(
                            item.contains_key("name") && item.contains_key("stock"),
                            "{}: projection ALL returns every attribute: {item:?}",
                            gsi.name
                        );
                    } else {
                        // INCLUDE: the keys and the projected attributes only.
                        assert!(
                            item.contains_key("status")
                                && !item.contains_key("name")
                                && !item.contains_key("stock"),
                            "{}: projection INCLUDE returns what it names: {item:?}",
                            gsi.name
                        );
                    }
                    seen.push(item["PK"].as_s().expect("PK").clone());
                }
                match page.last_evaluated_key {
                    Some(last) if !last.is_empty() => {
                        for name in ["PK", "SK", gsi.partition_key, gsi.sort_key] {
                            assert!(
                                last.contains_key(name),
                                "{}: LastEvaluatedKey has {name}",
                                gsi.name
                            );
                        }
                        start = Some(last);
                    }
                    _ => break,
                }
            }
            assert_eq!(
                seen,
                ["ITEM#3", "ITEM#1", "ITEM#0"],
                "{}: sparse (no ITEM#2), REMOVE drops ITEM#4, descending sort key",
                gsi.name
            );
            // Index entries follow updates of projected attributes.
            client
                .update_item()
                .table_name(&table)
                .set_key(Some(key("ITEM#3", "ITEM")))
                .update_expression("ADD stock :n SET #status = :shipped")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":n", n(10))
                .expression_attribute_values(":shipped", s("SHIPPED"))
                .send()
                .await
                .expect("update");
            let first = client
                .query()
                .table_name(&table)
                .index_name(gsi.name)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", gsi.partition_key)
                .expression_attribute_values(":pk", s(&partition))
                .scan_index_forward(false)
                .limit(1)
                .send()
                .await
                .expect("Query");
            if gsi.projected.is_empty() {
                assert_eq!(
                    number(&first.items()[0], "stock"),
                    Some(13),
                    "{}: projection is current",
                    gsi.name
                );
            }
            assert_eq!(
                first.items()[0]["status"].as_s().map(String::as_str),
                Ok("SHIPPED"),
                "{}: projection is current",
                gsi.name
            );
            for id in 0..5 {
                client
                    .delete_item()
                    .table_name(&table)
                    .set_key(Some(key(&format!("ITEM#{id}"), "ITEM")))
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    #[tokio::test]
    async fn ttl_is_enabled_and_its_attribute_stored_as_given() {
        let (client, table) = table().await;
        let described = client
            .describe_time_to_live()
            .table_name(&table)
            .send()
            .await
            .expect("DescribeTimeToLive")
            .time_to_live_description
            .expect("a description");
        assert_eq!(described.time_to_live_status, Some(TimeToLiveStatus::Enabled));
        assert_eq!(described.attribute_name.as_deref(), Some(store::TTL_ATTRIBUTE));

        let expires = (time::OffsetDateTime::now_utc().unix_timestamp()) + 24 * 3600;
        let mut item = key("IDEMPOTENCY#u#k", "RECORD");
        item.insert(store::TTL_ATTRIBUTE.into(), n(expires));
        put(&client, &table, item).await;
        let stored = get(&client, &table, "IDEMPOTENCY#u#k", "RECORD")
            .await
            .expect("kept");
        assert_eq!(number(&stored, store::TTL_ATTRIBUTE), Some(expires));
    }

    #[tokio::test]
    async fn consistent_batch_gets_return_every_item_asked_for() {
        let (client, table) = table().await;
        for id in 0..30 {
            let mut item = key(&format!("PRODUCT#{id}"), "PRODUCT");
            item.insert("stock".into(), n(id));
            put(&client, &table, item).await;
        }
        let keys = (0..30)
            .map(|id| key(&format!("PRODUCT#{id}"), "PRODUCT"))
            .chain([key("PRODUCT#absent", "PRODUCT")])
            .collect();
        let out = client
            .batch_get_item()
            .request_items(
                &table,
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .expect("keys"),
            )
            .send()
            .await
            .expect("BatchGetItem");
        assert!(
            out.unprocessed_keys
                .unwrap_or_default()
                .values()
                .all(|k| k.keys.is_empty())
        );
        let mut stocks: Vec<i64> = out.responses.expect("responses")[&table]
            .iter()
            .filter_map(|item| number(item, "stock"))
            .collect();
        stocks.sort_unstable();
        assert_eq!(
            stocks,
            (0..30).collect::<Vec<_>>(),
            "every present item once, none for the absent key"
        );
    }

    // ------------------------------------------------------------------ SQS

    /// The shop's queues (visibility timeout 1 s, redrive after the
    /// definition's receive count), under a prefix of their own.
    async fn queues() -> (Sqs, queue::QueueSpec, queue::QueueUrls) {
        let client = Sqs::new(&emulator_config().await);
        let mut created = queue::create_queues(&client, &format!("{}-", unique("conformance")), Some(1))
            .await
            .expect("create the queues");
        let (spec, urls) = created.remove(0);
        (client, spec, urls)
    }

    async fn receive(client: &Sqs, url: &str, wait: i32) -> Vec<aws_sdk_sqs::types::Message> {
        client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage")
            .messages
            .unwrap_or_default()
    }

    async fn send(client: &Sqs, url: &str, body: &str, delay: i32) {
        client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .expect("SendMessage");
    }

    fn receive_count(message: &aws_sdk_sqs::types::Message) -> Option<u32> {
        message
            .attributes()?
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)?
            .parse()
            .ok()
    }

    #[tokio::test]
    async fn delayed_messages_stay_hidden_for_their_delay() {
        let (client, _, urls) = queues().await;
        let sent = Instant::now();
        send(&client, &urls.url, "delayed", 2).await;
        send(&client, &urls.url, "at once", 0).await;
        let first = receive(&client, &urls.url, 0).await;
        assert_eq!(
            first
                .iter()
                .map(|m| m.body().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["at once"],
            "only the undelayed message is visible at once"
        );
        client
            .delete_message()
            .queue_url(&urls.url)
            .receipt_handle(first[0].receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("DeleteMessage");
        let mut delayed = Vec::new();
        while delayed.is_empty() && sent.elapsed() < Duration::from_secs(10) {
            delayed = receive(&client, &urls.url, 1).await;
        }
        assert_eq!(
            delayed
                .iter()
                .map(|m| m.body().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["delayed"],
            "the delayed message arrives"
        );
        assert!(
            sent.elapsed() >= Duration::from_millis(1_900),
            "DelaySeconds 2 hid the message for {:?}",
            sent.elapsed()
        );
    }

    #[tokio::test]
    async fn received_messages_come_back_after_the_visibility_timeout() {
        let (client, _, urls) = queues().await;
        send(&client, &urls.url, "work", 0).await;
        let first = receive(&client, &urls.url, 1).await;
        assert_eq!(first.len(), 1);
        assert_eq!(receive_count(&first[0]), Some(1));
        let received = Instant::now();
        assert!(
            receive(&client, &urls.url, 0).await.is_empty(),
            "invisible while the visibility timeout runs"
        );
        let mut again = Vec::new();
        while again.is_empty() && received.elapsed() < Duration::from_secs(10) {
            again = receive(&client, &urls.url, 1).await;
        }
        assert_eq!(again.len(), 1, "back after the visibility timeout");
        assert_eq!(again[0].body, first[0].body);
        assert_eq!(receive_count(&again[0]), Some(2), "the receive count grows");
        assert!(received.elapsed() >= Duration::from_millis(900));
    }

    #[tokio::test]
    async fn messages_move_to_the_dlq_after_max_receive_count() {
        let (client, spec, urls) = queues().await;
        send(&client, &urls.url, "poison", 0).await;
        let started = Instant::now();
        let mut receives = 0;
        while started.elapsed() < Duration::from_secs(30) {
            let got = receive(&client, &urls.url, 1).await;
            receives += got.len() as u32;
            if receives == spec.max_receive_count {
                break;
            }
        }
        assert_eq!(receives, spec.max_receive_count, "received up to maxReceiveCount");
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert!(
            receive(&client, &urls.url, 1).await.is_empty(),
            "not received a time more than maxReceiveCount"
        );
        let dead = receive(&client, &urls.dlq_url, 1).await;
        assert_eq!(
            dead.iter()
                .map(|m| m.body().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["poison"],
            "redriven to the DLQ, body intact"
        );
    }

    #[tokio::test]
    async fn batch_deletes_remove_every_message_named() {
        let (client, _, urls) = queues().await;
        for i in 0..10 {
            send(&client, &urls.url, &format!("message {i}"), 0).await;
        }
        let mut received = Vec::new();
        let started = Instant::now();
        while received.len() < 10 && started.elapsed() < Duration::from_secs(10) {
            received.extend(receive(&client, &urls.url, 1).await);
        }
        assert_eq!(received.len(), 10);
        let entries = received
            .iter()
            .map(|m| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(m.message_id().expect("id").replace('-', "_"))
                    .receipt_handle(m.receipt_handle().expect("handle"))
                    .build()
                    .expect("entry")
            })
            .collect();
        let deleted = client
            .delete_message_batch()
            .queue_url(&urls.url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("DeleteMessageBatch");
        assert_eq!(deleted.successful().len(), 10);
        assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(
            receive(&client, &urls.url, 1).await.is_empty(),
            "deleted messages do not come back after the visibility timeout"
        );
    }

    // ------------------------------------------- Streams, SES v2, EventBridge
    //
    // What the notifications of decision 69 rely on (not used by the shop
    // yet): a table's stream records every committed write, in order; SES v2
    // sends are listed by the emulator; an EventBridge rule routes a custom
    // bus's events to a queue.

    /// Whether the emulator is MiniStack (its health endpoint answers): the
    /// three behaviours below are checked there only, the emulator CI runs
    /// and the one the notifications are built against (`make test
    /// EMULATOR=moto` passes over them, saying so).
    async fn on_ministack() -> bool {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        let answer = shared::adapters::http_client()
            .build()
            .expect("an HTTP client")
            .get(format!("{}/_ministack/health", endpoint.trim_end_matches('/')))
            .send()
            .await;
        let ministack = answer.is_ok_and(|a| a.status().is_success());
        if !ministack {
            eprintln!("not MiniStack: Streams, SES v2 and EventBridge conformance passed over");
        }
        ministack
    }

    /// A table of one key with a stream of both images.
    async fn streamed_table(client: &DynamoDb) -> (String, String) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            StreamSpecification, StreamViewType,
        };
        let name = unique("conformance-stream");
        let created = client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("PK")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key"),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("PK")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .expect("stream"),
            )
            .send()
            .await
            .expect("CreateTable with a stream");
        let arn = created
            .table_description()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table's stream")
            .to_owned();
        (name, arn)
    }

    #[tokio::test]
    async fn a_tables_stream_records_each_committed_write_in_order() {
        if !on_ministack().await {
            return;
        }
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        let config = emulator_config().await;
        let client = DynamoDb::new(&config);
        let streams = aws_sdk_dynamodbstreams::Client::new(&config);
        let (table, arn) = streamed_table(&client).await;
        let one = |pk: &str| HashMap::from([("PK".to_owned(), s(pk))]);
        let mut a = one("a");
        a.insert("v".into(), n(1));
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(a))
            .send()
            .await
            .expect("put a");
        client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&table)
                            .set_item(Some(one("b")))
                            .build()
                            .expect("put"),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&table)
                            .set_key(Some(one("a")))
                            .update_expression("SET v = :v")
                            .expression_attribute_values(":v", n(2))
                            .build()
                            .expect("update"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("a transaction of two writes");
        let refused = client
            .put_item()
            .table_name(&table)
            .set_item(Some(one("a")))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        assert!(refused.is_err(), "the condition fails");
        client
            .delete_item()
            .table_name(&table)
            .set_key(Some(one("b")))
            .send()
            .await
            .expect("delete b");

        let shards = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .expect("DescribeStream");
        let shard = shards
            .stream_description()
            .and_then(|d| d.shards().first())
            .and_then(|s| s.shard_id())
            .expect("a shard")
            .to_owned();
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator
            .expect("an iterator");
        let mut seen = Vec::new();
        let started = Instant::now();
        while seen.len() < 4 && started.elapsed() < Duration::from_secs(10) {
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .expect("GetRecords");
            for record in page.records() {
                let change = record.dynamodb().expect("the change");
                let key = match change.keys().and_then(|k| k.get("PK")) {
                    Some(aws_sdk_dynamodbstreams::types::AttributeValue::S(pk)) => pk.clone(),
                    _ => String::new(),
                };
                let value =
                    |image: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
                        match image.and_then(|i| i.get("v")) {
                            Some(aws_sdk_dynamodbstreams::types::AttributeValue::N(v)) => v.clone(),
                            _ => "-".into(),
                        }
                    };
                seen.push((
                    record
                        .event_name()
                        .map(|e| e.as_str().to_owned())
                        .unwrap_or_default(),
                    key,
                    value(change.old_image()),
                    value(change.new_image()),
                    change.sequence_number().unwrap_or_default().to_owned(),
                ));
            }
            match page.next_shard_iterator() {
                Some(next) => iterator = next.to_owned(),
                None => break,
            }
        }
        let changes: Vec<(&str, &str, &str, &str)> = seen
            .iter()
            .map(|(e, k, old, new, _)| (e.as_str(), k.as_str(), old.as_str(), new.as_str()))
            .collect();
        assert_eq!(
            changes,
            [
                ("INSERT", "a", "-", "1"),
                ("INSERT", "b", "-", "-"),
                ("MODIFY", "a", "1", "2"),
                ("REMOVE", "b", "-", "-"),
            ],
            "each committed write once, in order, with both images; none for the failed condition"
        );
        let sequence: Vec<&str> = seen.iter().map(|r| r.4.as_str()).collect();
        assert!(
            sequence.windows(2).all(|w| w[0] < w[1]),
            "sequence numbers go up: {sequence:?}"
        );
    }

    #[tokio::test]
    async fn ses_v2_sends_are_listed_by_the_emulator() {
        if !on_ministack().await {
            return;
        }
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let ses = aws_sdk_sesv2::Client::new(&emulator_config().await);
        ses.create_email_identity()
            .email_identity("shop@example.com")
            .send()
            .await
            .ok(); // made by an earlier run: as good
        let subject = unique("conformance");
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .expect("content")
        };
        let sent = ses
            .send_email()
            .from_email_address("shop@example.com")
            .destination(Destination::builder().to_addresses("ann@example.com").build())
            .content(
                EmailContent::builder()
                    .simple(
                        Message::builder()
                            .subject(text(&subject))
                            .body(
                                Body::builder()
                                    .text(text("Grüße, plain"))
                                    .html(text("<p>Grüße</p>"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("SendEmail");
        let id = sent.message_id().expect("a message id").to_owned();
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the emulator");
        let listed: serde_json::Value = shared::adapters::http_client()
            .build()
            .expect("an HTTP client")
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
        let found: Vec<&serde_json::Value> = listed["messages"]
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(serde_json::Value::as_array)
            .flatten()
            .filter(|m| m["Subject"] == subject.as_str())
            .collect();
        assert_eq!(found.len(), 1, "sent once, listed once");
        let message = found[0];
        assert_eq!(
            (
                message["MessageId"].as_str(),
                message["Source"].as_str(),
                message["To"].clone(),
                message["BodyText"].as_str(),
                message["BodyHtml"].as_str()
            ),
            (
                Some(id.as_str()),
                Some("shop@example.com"),
                serde_json::json!(["ann@example.com"]),
                Some("Grüße, plain"),
                Some("<p>Grüße</p>")
            )
        );
    }

    #[tokio::test]
    async fn an_eventbridge_rule_routes_a_custom_bus_to_a_queue() {
        if !on_ministack().await {
            return;
        }
        use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
        let config = emulator_config().await;
        let events = aws_sdk_eventbridge::Client::new(&config);
        let sqs = Sqs::new(&config);
        let bus = unique("conformance-bus");
        events
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("CreateEventBus");
        let url = sqs
            .create_queue()
            .queue_name(unique("conformance-events"))
            .send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("a url");
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("the queue's arn")
            .clone();
        events
            .put_rule()
            .name("orders")
            .event_bus_name(&bus)
            .event_pattern(r#"{"source": ["shop"], "detail-type": ["order.placed"]}"#)
            .send()
            .await
            .expect("PutRule");
        events
            .put_targets()
            .rule("orders")
            .event_bus_name(&bus)
            .targets(Target::builder().id("queue").arn(arn).build().expect("target"))
            .send()
            .await
            .expect("PutTargets");
        let entry = |kind: &str, sequence: u32| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&bus)
                .source("shop")
                .detail_type(kind)
                .detail(serde_json::json!({"order_id": "o-1", "sequence": sequence}).to_string())
                .build()
        };
        let put = events
            .put_events()
            .entries(entry("order.placed", 1))
            .entries(entry("order.other", 2))
            .send()
            .await
            .expect("PutEvents");
        assert_eq!(put.failed_entry_count(), 0);
        let mut bodies = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            bodies.extend(receive(&sqs, &url, 1).await.into_iter().filter_map(|m| m.body));
        }
        let delivered: Vec<serde_json::Value> = bodies
            .iter()
            .map(|b| serde_json::from_str(b).expect("an event as JSON"))
            .collect();
        assert_eq!(delivered.len(), 1, "only the rule's pattern: {delivered:?}");
        assert_eq!(
            (
                &delivered[0]["source"],
                &delivered[0]["detail-type"],
                &delivered[0]["detail"]["sequence"]
            ),
            (
                &serde_json::json!("shop"),
                &serde_json::json!("order.placed"),
                &serde_json::json!(1)
            )
        );
    }
}
