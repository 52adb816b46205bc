//! Refunds and returns against the emulator: the status diagram, the
//! refunds worker (duplicates, provider failures through the stub, the
//! DLQ), stock released exactly where the diagram says, and the race with
//! shipping.

use serde_json::json;
use shared::Error;
use shared::foundation::input::parse_document;
use shared::model::orders::{Order, OrderStatus};
use shared::model::payments::PaymentStatus;
use shared::model::products::Product;
use shared::model::refunds::ReturnRequest;
use shared::model::shipping::ShipmentId;
use shared::usecases::orders;
use shared::usecases::refunds;
use shared::usecases::shipping;
use shop_tests::TestApp;
use shop_tests::fixtures::{admin, customer};
use shop_tests::stub::Stub;

fn reason() -> ReturnRequest {
    parse_document(json!({"reason": "Too small"})).expect("valid")
}

/// Ships a paid order through the worker, and delivers it if asked.
async fn ship(t: &TestApp, order: &Order, deliver: bool) {
    let response = t.deliver("shipping", shipping::handle_message).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.status(order).await, OrderStatus::Shipped);
    if deliver {
        let event = parse_document(json!({"status": "DELIVERED"})).expect("valid");
        shipping::add_event(&t.app, &admin(), &ShipmentId::for_order(&order.id), event)
            .await
            .expect("delivered");
    }
}

#[tokio::test]
async fn an_owner_refund_before_shipping_gives_the_stock_back_once() {
    let t = TestApp::spawn().await;
    let product = t.product("refund", 1_500, 5).await;
    let buyer = customer();
    let order = t.paid_order(&buyer, &[(&product, 2)]).await;
    assert_eq!(t.stock(&product).await, 3);

    let pending = refunds::refund_order(&t.app, &buyer, &order.id)
        .await
        .expect("accepted");
    assert_eq!(pending.status, OrderStatus::RefundPending);
    let again = refunds::refund_order(&t.app, &buyer, &order.id).await;
    assert!(
        matches!(again, Err(Error::InvalidState(OrderStatus::RefundPending))),
        "{again:?}"
    );

    // The message twice: a duplicate delivery.
    let sent = t.drain(&t.queue("refunds").url).await;
    assert_eq!(sent.len(), 1);
    let body = sent[0].0.body.clone().expect("body");
    for _ in 0..2 {
        t.sqs
            .send_message()
            .queue_url(&t.queue("refunds").url)
            .message_body(&body)
            .send()
            .await
            .expect("sent");
    }
    let response = t.deliver("refunds", refunds::handle_message).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(t.stock(&product).await, 5, "restocked exactly once");
    let payment = t
        .app
        .store
        .get_payment(&order.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(payment.payment.status, PaymentStatus::Refunded);
    assert!(payment.refund.refund_id().is_some());

    // The shipping worker, arriving late, ships nothing.
    t.deliver("shipping", shipping::handle_message).await;
    assert!(matches!(
        shipping::get_shipment(&t.app, &buyer, &order.id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn after_shipping_only_an_admin_refunds_and_nothing_is_restocked() {
    let t = TestApp::spawn().await;
    let product = t.product("refund", 1_500, 5).await;
    let buyer = customer();
    let shipped = t.paid_order(&buyer, &[(&product, 1)]).await;
    ship(&t, &shipped, false).await;
    assert!(matches!(
        refunds::refund_order(&t.app, &buyer, &shipped.id).await,
        Err(Error::InvalidState(OrderStatus::Shipped))
    ));
    let delivered = t.paid_order(&buyer, &[(&product, 1)]).await;
    ship(&t, &delivered, true).await;
    assert!(matches!(
        refunds::refund_order(&t.app, &customer(), &delivered.id).await,
        Err(Error::NotFound)
    ));

    let admin = admin();
    for order in [&shipped, &delivered] {
        let pending = refunds::refund_order(&t.app, admin.principal(), &order.id)
            .await
            .expect("accepted");
        assert_eq!(pending.status, OrderStatus::RefundPending);
    }
    t.deliver("refunds", refunds::handle_message).await;
    assert_eq!(t.status(&shipped).await, OrderStatus::Refunded);
    assert_eq!(t.status(&delivered).await, OrderStatus::Refunded);
    assert_eq!(t.stock(&product).await, 3, "shipped goods are not restocked");
}

#[tokio::test]
async fn returns_within_thirty_days_are_received_refunded_and_restocked() {
    let t = TestApp::spawn().await;
    let product = t.product("returns", 800, 4).await;
    let buyer = customer();
    let order = t.paid_order(&buyer, &[(&product, 3)]).await;
    assert!(matches!(
        refunds::request_return(&t.app, &buyer, &order.id, reason()).await,
        Err(Error::InvalidState(OrderStatus::Paid))
    ));
    ship(&t, &order, true).await;
    assert!(matches!(
        refunds::request_return(&t.app, admin().principal(), &order.id, reason()).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        refunds::request_return(&t.app, &customer(), &order.id, reason()).await,
        Err(Error::NotFound)
    ));
    let returning = refunds::request_return(&t.app, &buyer, &order.id, reason())
        .await
        .expect("accepted");
    assert_eq!(returning.status, OrderStatus::ReturnRequested);
    assert!(
        t.drain(&t.queue("refunds").url).await.is_empty(),
        "no refund before the goods are back"
    );

    let received = refunds::receive_return(&t.app, &admin(), &order.id)
        .await
        .expect("received");
    assert_eq!(received.status, OrderStatus::RefundPending);
    assert!(matches!(
        refunds::receive_return(&t.app, &admin(), &order.id).await,
        Err(Error::InvalidState(OrderStatus::RefundPending))
    ));
    t.deliver("refunds", refunds::handle_message).await;
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(t.stock(&product).await, 4, "returned goods are restocked");
}

#[tokio::test]
async fn returns_after_thirty_days_are_refused() {
    let t = TestApp::spawn().await;
    let product = t.product("returns", 800, 4).await;
    let buyer = customer();
    let order = t.paid_order(&buyer, &[(&product, 1)]).await;
    ship(&t, &order, true).await;
    // Deliveries 31 days ago, written straight into the emulator.
    let old = shared::foundation::clock::Timestamp::now()
        .plus_secs(-31 * 24 * 3600)
        .to_string();
    t.app
        .store
        .client()
        .update_item()
        .table_name(t.app.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ORDER#{}", order.id)),
        )
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("ORDER".into()))
        .update_expression("SET delivered_at = :old")
        .expression_attribute_values(":old", aws_sdk_dynamodb::types::AttributeValue::S(old))
        .send()
        .await
        .expect("backdated");
    let late = refunds::request_return(&t.app, &buyer, &order.id, reason()).await;
    assert!(
        matches!(late, Err(Error::InvalidState(OrderStatus::Delivered))),
        "{late:?}"
    );
    assert_eq!(t.status(&order).await, OrderStatus::Delivered);
}

#[tokio::test]
async fn a_late_payment_is_refunded_without_restock_and_never_shipped() {
    let t = TestApp::spawn().await;
    let product = t.product("late", 999, 3).await;
    let buyer = customer();
    let order = t.order(&buyer, &[(&product, 2)]).await.expect("placed");
    shared::usecases::payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    orders::cancel_order(&t.app, &buyer, &order.id)
        .await
        .expect("cancelled");
    assert_eq!(t.stock(&product).await, 3);
    t.pay(&buyer, &order).await;
    t.deliver("shipping", shipping::handle_message).await;
    t.deliver("refunds", refunds::handle_message).await;
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(
        t.stock(&product).await,
        3,
        "the cancel released it; the refund does not again"
    );
    assert!(matches!(
        shipping::get_shipment(&t.app, &buyer, &order.id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_refund_racing_the_shipping_worker_ends_consistent() {
    let t = TestApp::spawn().await;
    let product = t.product("race", 100, 50).await;
    for _ in 0..6 {
        let buyer = customer();
        let order = t.paid_order(&buyer, &[(&product, 1)]).await;
        let before = t.stock(&product).await;
        let (shipped, refunded) = tokio::join!(
            t.deliver("shipping", shipping::handle_message),
            refunds::refund_order(&t.app, &buyer, &order.id)
        );
        assert!(shipped.batch_item_failures.is_empty());
        t.deliver("refunds", refunds::handle_message).await;
        let shipment = shipping::get_shipment(&t.app, &buyer, &order.id).await;
        match refunded {
            Ok(_) => {
                assert!(shipment.is_err(), "refunded and never shipped");
                assert_eq!(t.status(&order).await, OrderStatus::Refunded);
                assert_eq!(t.stock(&product).await, before + 1, "restocked");
            }
            Err(Error::InvalidState(OrderStatus::Shipped)) => {
                assert!(shipment.is_ok(), "shipped, so the owner may not refund");
                assert_eq!(
                    t.stock(&product).await,
                    before,
                    "never a shipment together with a restock"
                );
            }
            other => panic!("inconsistent: {other:?}"),
        }
    }
}

mod through_stripe {
    use super::*;

    const KEY: &str = "sk_test_refunds";

    async fn stripe_app(stub: &Stub) -> TestApp {
        TestApp::spawn_with(&[
            ("PAYMENT_PROVIDER", "stripe"),
            ("STRIPE_API_KEY", KEY),
            ("STRIPE_API_BASE", &stub.url),
        ])
        .await
    }

    /// A paid order of the stub's intent `pi_stub`, refund requested.
    async fn pending_refund(t: &TestApp, stub: &Stub) -> (Order, Product) {
        let product = t.product("stripe", 2_000, 5).await;
        let buyer = customer();
        let order = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
        stub.respond(200, json!({"id": "pi_stub", "client_secret": "pi_stub_secret"}));
        t.pay(&buyer, &order).await;
        refunds::refund_order(&t.app, &buyer, &order.id)
            .await
            .expect("accepted");
        (order, product)
    }

    #[tokio::test]
    async fn a_transient_provider_error_leaves_the_message_for_a_retry() {
        let stub = Stub::start().await;
        let t = stripe_app(&stub).await;
        let (order, product) = pending_refund(&t, &stub).await;
        stub.respond(503, json!({"error": {"type": "api_error"}}));
        let response = t.deliver("refunds", refunds::handle_message).await;
        assert_eq!(response.batch_item_failures.len(), 1, "left for a retry");
        assert_eq!(t.status(&order).await, OrderStatus::RefundPending);

        stub.respond(
            200,
            json!({"id": "re_1", "object": "refund", "status": "succeeded"}),
        );
        let response = t.deliver("refunds", refunds::handle_message).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(t.status(&order).await, OrderStatus::Refunded);
        assert_eq!(t.stock(&product).await, 5);

        let refunds: Vec<_> = stub
            .seen()
            .into_iter()
            .filter(|s| s.path == "/v1/refunds")
            .collect();
        assert_eq!(refunds.len(), 2);
        let key = format!("shop-order-{}-refund", order.id);
        for call in &refunds {
            assert_eq!(
                call.header("idempotency-key"),
                Some(key.as_str()),
                "the same key every time"
            );
            assert_eq!(
                call.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            let form = call.form();
            assert!(form.contains(&("payment_intent".into(), "pi_stub".into())));
            assert!(form.contains(&("amount".into(), "2000".into())));
        }
    }

    #[tokio::test]
    async fn already_refunded_completes_and_a_refusal_ends_without_looping() {
        let stub = Stub::start().await;
        let t = stripe_app(&stub).await;
        let (first, _) = pending_refund(&t, &stub).await;
        stub.respond(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "charge_already_refunded"}}),
        );
        let response = t.deliver("refunds", refunds::handle_message).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(t.status(&first).await, OrderStatus::Refunded);

        let (second, _) = pending_refund(&t, &stub).await;
        stub.respond(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "amount_too_large"}}),
        );
        let response = t.deliver("refunds", refunds::handle_message).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "no loop on a permanent refusal"
        );
        assert_eq!(t.status(&second).await, OrderStatus::RefundPending);
        let payment = t
            .app
            .store
            .get_payment(&second.id)
            .await
            .expect("read")
            .expect("exists");
        assert!(
            payment
                .refund
                .refusal()
                .expect("noted for an operator")
                .contains("amount_too_large")
        );
        assert!(t.drain(&t.queue("refunds").url).await.is_empty());
    }

    #[tokio::test]
    async fn a_message_that_keeps_failing_reaches_the_dlq_and_shopctl_redrives_it() {
        let stub = Stub::start().await;
        let t = stripe_app(&stub).await;
        let (order, _) = pending_refund(&t, &stub).await;
        let queue = t.queue("refunds").clone();
        let mut tries = 0;
        loop {
            let response = t.deliver("refunds", refunds::handle_message).await;
            if response.batch_item_failures.is_empty() && t.drain(&queue.url).await.is_empty() {
                break;
            }
            tries += 1;
            assert!(tries <= 10, "never dead-lettered");
        }
        assert_eq!(
            tries, 5,
            "maxReceiveCount failures (the stub answers 500 unless told otherwise)"
        );

        let shopctl = |args: &[&str]| {
            std::process::Command::new(shop_tests::require_env("SHOPCTL"))
                .args(["--env-file", "none"])
                .args(args)
                .env("REFUNDS_QUEUE_URL", &queue.url)
                .output()
                .expect("run shopctl")
        };
        let listed = shopctl(&["dlq", "list", "refunds"]);
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
        assert_eq!(listed.as_array().expect("list").len(), 1);
        assert_eq!(listed[0]["body"]["order_id"], order.id.to_string());

        let redriven = shopctl(&["dlq", "redrive", "refunds"]);
        assert!(
            redriven.status.success(),
            "{}",
            String::from_utf8_lossy(&redriven.stderr)
        );
        stub.respond(200, json!({"id": "re_after_redrive"}));
        let response = t.deliver("refunds", refunds::handle_message).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    }
}
