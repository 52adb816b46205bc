//! The shipping worker against the emulator, fed real SQS batches: duplicate,
//! poison and mixed batches, the DLQ, and tracking to delivery.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::json;
use shared::entry::worker::process_batch;
use shared::foundation::clock::Deadline;
use shared::foundation::input::parse_document;
use shared::model::auth::Principal;
use shared::model::messages::{Message, RefundRequested};
use shared::model::orders::{Order, OrderStatus};
use shared::model::shipping::{ShipmentId, ShipmentStatus};
use shared::usecases::orders;
use shared::usecases::shipping;
use shared::{App, Error};
use shop_tests::TestApp;
use shop_tests::fixtures::{admin, customer};

/// An order paid through the webhook; its payment_confirmed is on the queue.
async fn paid_order(t: &TestApp, buyer: &Principal) -> Order {
    let product = t.product("ship", 1_000, 10).await;
    t.paid_order(buyer, &[(&product, 1)]).await
}

fn record(id: &str, body: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.to_owned());
    record.body = Some(body.to_owned());
    record.event_source = Some("aws:sqs".into());
    record
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

async fn run(t: &TestApp, event: SqsEvent) -> SqsBatchResponse {
    process_batch(
        &t.app,
        event,
        Deadline::after(std::time::Duration::from_secs(60)),
        shipping::handle_message,
    )
    .await
}

#[tokio::test]
async fn a_paid_order_ships_once_however_often_its_message_comes() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    let sent = t.drain(&t.queue("shipping").url).await;
    let body = sent[0].0.body.clone().expect("body");

    let response = run(&t, batch(vec![record("a", &body), record("b", &body)])).await;
    assert_eq!(failures(&response), Vec::<String>::new());
    let again = run(&t, batch(vec![record("c", &body)])).await;
    assert!(again.batch_item_failures.is_empty());

    let shipment = shipping::get_shipment(&t.app, &buyer, &order.id)
        .await
        .expect("shipped");
    assert_eq!(shipment.id, ShipmentId::for_order(&order.id));
    assert_eq!(shipment.status, ShipmentStatus::LabelCreated);
    assert_eq!(shipment.events.len(), 1, "one shipment, one label");
    assert!(shipment.tracking_number.starts_with("SBX"));
    assert_eq!(t.status(&order).await, OrderStatus::Shipped);
}

#[tokio::test]
async fn one_bad_message_never_fails_its_batch_mates() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let first = paid_order(&t, &buyer).await;
    let second = paid_order(&t, &buyer).await;
    let bodies: Vec<String> = t
        .drain(&t.queue("shipping").url)
        .await
        .into_iter()
        .filter_map(|(m, _)| m.body)
        .collect();
    let refund = Message::RefundRequested(RefundRequested {
        order_id: first.id.clone(),
        payment_id: shared::model::payments::PaymentId::new(),
        amount: first.total,
        restock: false,
    })
    .to_json();
    let unknown_order = bodies[0].replace(
        &first.id.to_string(),
        &shared::model::orders::OrderId::new().to_string(),
    );
    let response = run(
        &t,
        batch(vec![
            record("good-1", &bodies[0]),
            record("garbage", "{not json"),
            record("wrong-queue", &refund),
            record("no-such-order", &unknown_order),
            record("good-2", &bodies[1]),
        ]),
    )
    .await;
    assert_eq!(failures(&response), ["garbage", "wrong-queue", "no-such-order"]);
    for order in [&first, &second] {
        assert_eq!(t.status(order).await, OrderStatus::Shipped);
    }
}

#[tokio::test]
async fn an_order_no_longer_paid_is_not_shipped() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    let body = t.drain(&t.queue("shipping").url).await[0]
        .0
        .body
        .clone()
        .expect("body");
    // Move the order on before the worker sees it, as a refund does.
    let current = t
        .app
        .store
        .get_order(&order.id)
        .await
        .expect("read")
        .expect("exists");
    let payment = t
        .app
        .store
        .get_payment(&order.id)
        .await
        .expect("read")
        .expect("exists");
    t.app
        .store
        .mark_paid(
            &current,
            &payment.payment,
            OrderStatus::RefundPending,
            false,
            shared::foundation::clock::Timestamp::now(),
        )
        .await
        .expect("moved on");
    let response = run(&t, batch(vec![record("m", &body)])).await;
    assert!(response.batch_item_failures.is_empty(), "nothing to retry");
    assert!(matches!(
        shipping::get_shipment(&t.app, &buyer, &order.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(t.status(&order).await, OrderStatus::RefundPending);

    // A payment_confirmed for an order that is cancelled (never paid) ships nothing.
    let product = t.product("ship", 1_000, 10).await;
    let unpaid = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    orders::cancel_order(&t.app, &buyer, &unpaid.id)
        .await
        .expect("cancelled");
    let stray = body.replace(&order.id.to_string(), &unpaid.id.to_string());
    let response = run(&t, batch(vec![record("stray", &stray)])).await;
    assert!(response.batch_item_failures.is_empty(), "nothing to retry");
    assert!(matches!(
        shipping::get_shipment(&t.app, &buyer, &unpaid.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        orders::get_order(&t.app, &buyer, &unpaid.id)
            .await
            .expect("read")
            .status,
        OrderStatus::Cancelled
    );
}

#[tokio::test]
async fn a_malformed_message_ends_in_the_dlq_after_max_receives() {
    let t = TestApp::spawn().await;
    let queue = t.queue("shipping").clone();
    t.sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body("{\"type\":\"payment_confirmed\",\"version\":1}")
        .send()
        .await
        .expect("sent");
    // Lambda's poller, by hand: receive, invoke, delete what succeeded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut receives = 0;
    loop {
        let received = t
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            let dead = t.drain(&queue.dlq_url).await;
            if !dead.is_empty() {
                assert_eq!(dead.len(), 1);
                break;
            }
        } else {
            receives += 1;
            let records = received
                .iter()
                .map(|m| {
                    record(
                        m.message_id.as_deref().unwrap_or_default(),
                        m.body.as_deref().unwrap_or_default(),
                    )
                })
                .collect();
            let response = run(&t, batch(records)).await;
            assert_eq!(
                response.batch_item_failures.len(),
                1,
                "the poison is reported, never deleted"
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not in the DLQ after {receives} receives"
        );
    }
    assert_eq!(receives, 5, "maxReceiveCount deliveries, then the DLQ");
}

#[tokio::test]
async fn tracking_events_lead_to_delivery_and_a_purchase_record() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    assert!(matches!(
        shipping::get_shipment(&t.app, &buyer, &order.id).await,
        Err(Error::NotFound)
    ));
    let body = t.drain(&t.queue("shipping").url).await[0]
        .0
        .body
        .clone()
        .expect("body");
    run(&t, batch(vec![record("m", &body)])).await;
    let id = ShipmentId::for_order(&order.id);
    let admin = admin();
    let event = |status: &str| {
        parse_document(json!({"status": status, "location": "Depot 4", "note": "scanned"})).expect("valid")
    };

    let moving = shipping::add_event(&t.app, &admin, &id, event("IN_TRANSIT"))
        .await
        .expect("added");
    assert_eq!(moving.status, ShipmentStatus::InTransit);
    assert_eq!(moving.events.len(), 2);
    assert_eq!(moving.events[1].location.as_deref(), Some("Depot 4"));

    let delivered = shipping::add_event(&t.app, &admin, &id, event("DELIVERED"))
        .await
        .expect("delivered");
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
    let statuses: Vec<_> = delivered.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            ShipmentStatus::LabelCreated,
            ShipmentStatus::InTransit,
            ShipmentStatus::Delivered
        ]
    );
    let stored = orders::get_order(&t.app, &buyer, &order.id).await.expect("read");
    assert_eq!(stored.status, OrderStatus::Delivered);
    assert!(stored.delivered_at.is_some());
    assert_eq!(
        shipping::get_shipment(&t.app, &buyer, &order.id)
            .await
            .expect("read"),
        delivered
    );
    assert!(
        t.app
            .store
            .has_purchased(&buyer.user_id, &order.items[0].product_id)
            .await
            .expect("read"),
        "the purchase is recorded for reviews"
    );

    let after = shipping::add_event(&t.app, &admin, &id, event("EXCEPTION")).await;
    assert!(
        matches!(after, Err(Error::InvalidState(OrderStatus::Delivered))),
        "{after:?}"
    );
    assert!(matches!(
        shipping::add_event(&t.app, &admin, &ShipmentId::new(), event("IN_TRANSIT")).await,
        Err(Error::NotFound)
    ));
    assert!(
        matches!(
            shipping::get_shipment(&t.app, &customer(), &order.id).await,
            Err(Error::NotFound)
        ),
        "not another customer's"
    );
}

/// A batch that arrives with too little time to start is not tried and
/// not reported back (which would spend one of its five receives before
/// the DLQ): each record goes back to the queue as a new message, received
/// for the first time when it comes, and the batch is acknowledged.
#[tokio::test]
async fn a_worker_out_of_time_sends_its_records_back_unspent() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    let sent = t.drain(&t.queue("shipping").url).await;
    let body = sent[0].0.body.clone().expect("body");
    let late = process_batch(
        &t.app,
        batch(vec![
            record("a", &body),
            record("b", &body),
            record("c", "not a message"),
        ]),
        Deadline::after(std::time::Duration::from_secs(5)),
        shipping::handle_message,
    )
    .await;
    assert_eq!(
        failures(&late),
        ["c"],
        "only what cannot be sent again comes back"
    );
    assert_eq!(
        t.status(&order).await,
        OrderStatus::Paid,
        "not shipped by a worker that had no time"
    );
    let again = t.drain(&t.queue("shipping").url).await;
    assert_eq!(again.len(), 2, "both sent back");
    for (message, parsed) in &again {
        assert_eq!(message.body.as_deref(), Some(body.as_str()));
        assert!(parsed.is_ok());
        let receives = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str);
        assert_eq!(receives, Some("1"), "a new message, its redrive budget whole");
    }
    // And the copies ship the order once.
    let shipped = run(&t, batch(vec![record("d", &body), record("e", &body)])).await;
    assert!(shipped.batch_item_failures.is_empty());
    assert_eq!(t.status(&order).await, OrderStatus::Shipped);
}

/// The records of a batch run at once, so a batch takes as long as its
/// slowest record, not their sum: three records that each wait for the
/// other two finish only if they run together.
#[tokio::test]
async fn the_records_of_a_batch_run_at_once() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    paid_order(&t, &buyer).await;
    let sent = t.drain(&t.queue("shipping").url).await;
    let body = sent[0].0.body.clone().expect("body");
    let together = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let handler = |_app: &App, _message| {
        let together = std::sync::Arc::clone(&together);
        async move {
            together.wait().await;
            Ok::<_, Error>(())
        }
    };
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        process_batch(
            &t.app,
            batch(vec![record("a", &body), record("b", &body), record("c", &body)]),
            Deadline::after(std::time::Duration::from_secs(60)),
            handler,
        ),
    )
    .await
    .expect("one record at a time would wait for ever");
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn tracking_events_are_capped_and_delivery_always_fits() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    let sent = t.drain(&t.queue("shipping").url).await;
    let body = sent[0].0.body.clone().expect("body");
    assert!(
        run(&t, batch(vec![record("a", &body)]))
            .await
            .batch_item_failures
            .is_empty()
    );
    let shipment = ShipmentId::for_order(&order.id);
    let event = |status: &str| parse_document(json!({"status": status, "location": "Depot"})).expect("valid");
    for _ in 1..shared::model::shipping::MAX_EVENTS {
        shipping::add_event(&t.app, &admin(), &shipment, event("IN_TRANSIT"))
            .await
            .expect("recorded");
    }
    assert!(matches!(
        shipping::add_event(&t.app, &admin(), &shipment, event("IN_TRANSIT")).await,
        Err(Error::TooManyEvents(100))
    ));
    let delivered = shipping::add_event(&t.app, &admin(), &shipment, event("DELIVERED"))
        .await
        .expect("delivery always fits");
    assert_eq!(delivered.events.len(), 101);
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
}

/// The carrier's webhook: a tracking event signed with the carrier's own
/// secret is recorded (no admin's password needed); a forged, stale or
/// unsigned one changes nothing; one naming another tracking number is not
/// found; a repeated event id adds nothing; a repeated `DELIVERED` answers
/// the delivered shipment.
#[tokio::test]
async fn the_carrier_posts_signed_tracking_events_of_its_own() {
    use shared::adapters::payments::webhook;
    use shared::foundation::secret::Secret;
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = paid_order(&t, &buyer).await;
    let sent = t.drain(&t.queue("shipping").url).await;
    run(
        &t,
        batch(vec![record("a", sent[0].0.body.as_deref().expect("body"))]),
    )
    .await;
    let shipment = shipping::get_shipment(&t.app, &buyer, &order.id)
        .await
        .expect("shipped");
    let secret = Secret::new(shop_tests::TEST_CARRIER_SECRET);
    let now = shared::foundation::clock::Timestamp::now().unix();
    let event = |id: &str, tracking: &str, status: &str| {
        serde_json::to_vec(&json!({
            "event_id": id, "shipment_id": shipment.id.to_string(), "tracking_number": tracking,
            "status": status, "location": "Leipzig hub"
        }))
        .expect("json")
    };
    let body = event("trk_1", &shipment.tracking_number, "IN_TRANSIT");

    for header in [
        None,
        Some(webhook::sign(&Secret::new("not the carrier's"), now, &body)),
        Some(webhook::sign(&secret, now - 301, &body)),
    ] {
        assert!(matches!(
            shipping::carrier_event(&t.app, header.as_deref(), &body).await,
            Err(Error::InvalidSignature)
        ));
    }
    let other = event("trk_2", "SBX000000000000", "IN_TRANSIT");
    assert!(matches!(
        shipping::carrier_event(&t.app, Some(&webhook::sign(&secret, now, &other)), &other).await,
        Err(Error::NotFound)
    ));

    let signed = webhook::sign(&secret, now, &body);
    let updated = shipping::carrier_event(&t.app, Some(&signed), &body)
        .await
        .expect("recorded");
    assert_eq!(updated.status, ShipmentStatus::InTransit);
    assert_eq!(updated.events.len(), 2);
    let again = shipping::carrier_event(&t.app, Some(&signed), &body)
        .await
        .expect("a repeat");
    assert_eq!(again.events.len(), 2, "a repeated event id adds nothing");

    let delivered = event("trk_3", &shipment.tracking_number, "DELIVERED");
    let header = webhook::sign(&secret, now, &delivered);
    for _ in 0..2 {
        let shipment = shipping::carrier_event(&t.app, Some(&header), &delivered)
            .await
            .expect("delivered, then the same answer");
        assert_eq!(shipment.status, ShipmentStatus::Delivered);
    }
    assert_eq!(t.status(&order).await, OrderStatus::Delivered);
}

/// The shipping worker needs its carrier named: `CARRIER` unset stops the
/// cold start (a deployment names it; the template has no default).
#[tokio::test]
async fn a_worker_without_a_carrier_named_does_not_start() {
    let t = TestApp::spawn().await;
    let config = t.app.config.clone();
    let unnamed = shared::Config {
        carrier: None,
        ..config.clone()
    };
    let aws = shop_tests::emulator_config().await;
    let mut app = shared::App::new(unnamed, &aws).expect("tools need no carrier");
    assert!(app.carrier().is_err());
    let refused = <shared::app::parts::Carrier as shared::app::parts::Parts>::add(&mut app, &aws);
    assert!(
        matches!(refused, Err(shared::app::ConfigError::Missing("CARRIER"))),
        "{refused:?}"
    );
    let unknown = shared::Config {
        carrier: Some("acme".into()),
        ..config
    };
    assert!(shared::App::new(unknown, &aws).is_err());
}
