//! Payments against the emulator: starting a payment, the signed webhook,
//! the hand-off to shipping that survives a failed send, late payments.

use shared::Error;
use shared::model::auth::Principal;
use shared::model::messages::Message;
use shared::model::orders::{Order, OrderStatus};
use shared::model::payments::PaymentStatus;
use shared::usecases::orders;
use shared::usecases::payments;
use shared::usecases::payments::WebhookOutcome;
use shop_tests::fixtures::{admin, customer, payment_succeeded};
use shop_tests::{TEST_WEBHOOK_SECRET, TestApp};

async fn unpaid_order(t: &TestApp, buyer: &Principal) -> Order {
    let product = t.product("pay", 2_500, 10).await;
    t.order(buyer, &[(&product, 2)]).await.expect("placed")
}

async fn deliver(app: &shared::App, order: &Order, intent: &str) -> Result<WebhookOutcome, Error> {
    let (header, body) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, order, order.total.minor(), "usd");
    payments::handle_webhook(app, Some(&header), &body).await
}

#[tokio::test]
async fn a_payment_is_started_once_for_the_owner() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let (payment, created) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    assert!(created);
    assert_eq!(payment.amount, order.total);
    assert_eq!(payment.provider, "sandbox");
    assert_eq!(payment.status, PaymentStatus::RequiresPayment);
    assert!(payment.client_secret.is_some());
    let (again, created) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("again");
    assert!(!created);
    assert_eq!(again, payment);

    assert!(matches!(
        payments::start_payment(&t.app, &customer(), &order.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        payments::start_payment(&t.app, admin().principal(), &order.id).await,
        Err(Error::Forbidden)
    ));
    let other = unpaid_order(&t, &buyer).await;
    orders::cancel_order(&t.app, &buyer, &other.id)
        .await
        .expect("cancelled");
    assert!(matches!(
        payments::start_payment(&t.app, &buyer, &other.id).await,
        Err(Error::InvalidState(OrderStatus::Cancelled))
    ));
}

/// A payment is started only while the order awaits it: once the order is
/// paid, or cancelled after its payment was started, the call answers
/// `INVALID_STATE`, never the payment (and its client secret) again.
#[tokio::test]
async fn a_payment_is_not_handed_out_once_the_order_moved_on() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let paid = unpaid_order(&t, &buyer).await;
    let (payment, _) = payments::start_payment(&t.app, &buyer, &paid.id)
        .await
        .expect("started");
    assert_eq!(
        deliver(&t.app, &paid, &payment.provider_payment_id)
            .await
            .expect("ok"),
        WebhookOutcome::Paid
    );
    assert!(matches!(
        payments::start_payment(&t.app, &buyer, &paid.id).await,
        Err(Error::InvalidState(OrderStatus::Paid))
    ));
    let dropped = unpaid_order(&t, &buyer).await;
    payments::start_payment(&t.app, &buyer, &dropped.id)
        .await
        .expect("started");
    orders::cancel_order(&t.app, &buyer, &dropped.id)
        .await
        .expect("cancelled");
    assert!(matches!(
        payments::start_payment(&t.app, &buyer, &dropped.id).await,
        Err(Error::InvalidState(OrderStatus::Cancelled))
    ));
}

#[tokio::test]
async fn a_verified_payment_marks_the_order_paid_and_hands_it_to_shipping_once() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let (payment, _) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");

    assert_eq!(
        deliver(&t.app, &order, &payment.provider_payment_id)
            .await
            .expect("ok"),
        WebhookOutcome::Paid
    );
    let paid = orders::get_order(&t.app, &buyer, &order.id).await.expect("read");
    assert_eq!(paid.status, OrderStatus::Paid);
    assert!(paid.paid_at.is_some());
    assert_eq!(paid.expires_at, None);
    // Paid orders no longer expire.
    let report = orders::expire_orders(&t.app, order.expires_at.expect("had one").plus_secs(60))
        .await
        .expect("ran");
    assert_eq!(report.expired, 0);

    for _ in 0..3 {
        assert_eq!(
            deliver(&t.app, &order, &payment.provider_payment_id)
                .await
                .expect("ok"),
            WebhookOutcome::AlreadyHandled
        );
    }
    let sent = t.drain(&t.queue("shipping").url).await;
    assert_eq!(sent.len(), 1, "one hand-off for four deliveries");
    let Ok(Message::PaymentConfirmed(message)) = &sent[0].1 else {
        panic!("a payment_confirmed message: {:?}", sent[0].1)
    };
    assert_eq!(message.order_id, order.id);
    assert_eq!(message.payment_id, payment.id);
    assert_eq!(message.amount, order.total);
    assert_eq!(message.currency.as_str(), "USD");
}

#[tokio::test]
async fn a_failed_send_is_completed_by_the_providers_retry() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let (payment, _) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    let shipping = t.queue("shipping").url.clone();
    let broken = t.reconfigured(&[("SHIPPING_QUEUE_URL", &format!("{shipping}-does-not-exist"))]);

    let first = deliver(&broken, &order, &payment.provider_payment_id).await;
    assert!(
        matches!(first, Err(Error::Unavailable(_))),
        "a non-2xx answer: {first:?}"
    );
    assert_eq!(
        orders::get_order(&t.app, &buyer, &order.id)
            .await
            .expect("read")
            .status,
        OrderStatus::Paid
    );
    assert!(t.drain(&shipping).await.is_empty(), "nothing sent yet");

    // The provider retries; the send goes through this time.
    assert_eq!(
        deliver(&t.app, &order, &payment.provider_payment_id)
            .await
            .expect("ok"),
        WebhookOutcome::AlreadyHandled
    );
    let sent = t.drain(&shipping).await;
    assert_eq!(sent.len(), 1, "the hand-off completed");
    assert!(matches!(&sent[0].1, Ok(Message::PaymentConfirmed(m)) if m.order_id == order.id));
    deliver(&t.app, &order, &payment.provider_payment_id)
        .await
        .expect("ok");
    assert!(t.drain(&shipping).await.is_empty(), "and is not repeated");
}

#[tokio::test]
async fn forged_or_stale_deliveries_change_nothing_and_mismatched_payments_go_back() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let (payment, _) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    let intent = payment.provider_payment_id.as_str();

    let (_, body) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, &order, order.total.minor(), "usd");
    let (forged, _) = payment_succeeded("whsec_someone_else", intent, &order, order.total.minor(), "usd");
    for header in [None, Some("t=1,v1=00"), Some(forged.as_str())] {
        assert!(matches!(
            payments::handle_webhook(&t.app, header, &body).await,
            Err(Error::InvalidSignature)
        ));
    }
    let (header, _) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, &order, order.total.minor(), "usd");
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert!(matches!(
        payments::handle_webhook(&t.app, Some(&header), &tampered).await,
        Err(Error::InvalidSignature)
    ));

    for (amount, currency, intent) in [
        (order.total.minor() - 1, "usd", intent),
        (order.total.minor(), "eur", intent),
        (order.total.minor(), "usd", "pi_not_this_order"),
    ] {
        let (header, body) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, &order, amount, currency);
        let outcome = payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("answered 200");
        // Money the shop cannot apply goes back to the customer.
        assert!(matches!(outcome, WebhookOutcome::Refunded(_)), "{outcome:?}");
    }
    assert_eq!(
        orders::get_order(&t.app, &buyer, &order.id)
            .await
            .expect("read")
            .status,
        OrderStatus::PendingPayment
    );
    assert!(t.drain(&t.queue("shipping").url).await.is_empty());
}

#[tokio::test]
async fn a_payment_for_a_cancelled_order_awaits_a_refund_and_never_ships() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let (payment, _) = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    orders::cancel_order(&t.app, &buyer, &order.id)
        .await
        .expect("cancelled");

    assert_eq!(
        deliver(&t.app, &order, &payment.provider_payment_id)
            .await
            .expect("ok"),
        WebhookOutcome::PaidLate
    );
    deliver(&t.app, &order, &payment.provider_payment_id)
        .await
        .expect("repeat");
    let stored = orders::get_order(&t.app, &buyer, &order.id).await.expect("read");
    assert_eq!(stored.status, OrderStatus::RefundPending);
    assert!(
        t.drain(&t.queue("shipping").url).await.is_empty(),
        "never shipped"
    );
    let refunds = t.drain(&t.queue("refunds").url).await;
    assert_eq!(refunds.len(), 1);
    let Ok(Message::RefundRequested(request)) = &refunds[0].1 else {
        panic!("a refund_requested message")
    };
    assert_eq!(
        (request.amount, request.restock),
        (order.total, false),
        "stock went back at the cancel"
    );
}

#[tokio::test]
async fn a_payment_racing_a_cancel_ends_consistent() {
    let t = TestApp::spawn().await;
    for _ in 0..4 {
        let buyer = customer();
        let order = unpaid_order(&t, &buyer).await;
        let (payment, _) = payments::start_payment(&t.app, &buyer, &order.id)
            .await
            .expect("started");
        let (paid, cancelled) = tokio::join!(
            deliver(&t.app, &order, &payment.provider_payment_id),
            orders::cancel_order(&t.app, &buyer, &order.id)
        );
        let status = orders::get_order(&t.app, &buyer, &order.id)
            .await
            .expect("read")
            .status;
        match (paid.expect("webhook answered"), cancelled) {
            (WebhookOutcome::Paid, Err(Error::InvalidState(_))) => assert_eq!(status, OrderStatus::Paid),
            (WebhookOutcome::PaidLate, Ok(_)) => assert_eq!(status, OrderStatus::RefundPending),
            other => panic!("inconsistent: {other:?}, now {status:?}"),
        }
    }
}

#[tokio::test]
async fn other_events_are_acknowledged_and_ignored() {
    let t = TestApp::spawn().await;
    let body = br#"{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#;
    let header = shared::adapters::payments::webhook::sign(
        &shared::foundation::secret::Secret::new(TEST_WEBHOOK_SECRET),
        time::OffsetDateTime::now_utc().unix_timestamp(),
        body,
    );
    let outcome = payments::handle_webhook(&t.app, Some(&header), body)
        .await
        .expect("200");
    assert!(matches!(outcome, WebhookOutcome::Ignored(_)));
}
