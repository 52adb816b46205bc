//! Payments against the emulator: starting a payment, the signed webhook,
//! the hand-off to shipping that survives a failed send, late payments.

use serde_json::json;
use shared::Error;
use shared::model::auth::Principal;
use shared::model::messages::Message;
use shared::model::orders::{Order, OrderStatus};
use shared::model::payments::PaymentStatus;
use shared::usecases::orders;
use shared::usecases::payments;
use shared::usecases::payments::WebhookOutcome;
use shared::usecases::shipping::{self, ShipOutcome};
use shop_tests::fixtures::{admin, customer, payment_succeeded, provider_event};
use shop_tests::{TEST_WEBHOOK_SECRET, TestApp, unique};

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
    let started = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    let created = matches!(started, shared::usecases::payments::PaymentStart::Created(_));
    let payment = started.into_payment();
    assert!(created);
    assert_eq!(payment.amount, order.total);
    assert_eq!(payment.provider.as_str(), "sandbox");
    assert_eq!(payment.status, PaymentStatus::RequiresPayment);
    assert!(payment.client_secret.is_some());
    let started = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("again");
    let created = matches!(started, shared::usecases::payments::PaymentStart::Created(_));
    let again = started.into_payment();
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
    t.started_payment(&buyer, &paid).await;
    assert_eq!(t.pay(&buyer, &paid).await, WebhookOutcome::Paid);
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
    let payment = t.started_payment(&buyer, &order).await;

    assert_eq!(t.pay(&buyer, &order).await, WebhookOutcome::Paid);
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
            deliver(&t.app, &order, payment.provider_payment_id.as_str())
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
    let payment = t.started_payment(&buyer, &order).await;
    let shipping = t.queue("shipping").url.clone();
    let broken = t.reconfigured(&[("SHIPPING_QUEUE_URL", &format!("{shipping}-does-not-exist"))]);

    let first = deliver(&broken, &order, payment.provider_payment_id.as_str()).await;
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
        deliver(&t.app, &order, payment.provider_payment_id.as_str())
            .await
            .expect("ok"),
        WebhookOutcome::AlreadyHandled
    );
    let sent = t.drain(&shipping).await;
    assert_eq!(sent.len(), 1, "the hand-off completed");
    assert!(matches!(&sent[0].1, Ok(Message::PaymentConfirmed(m)) if m.order_id == order.id));
    deliver(&t.app, &order, payment.provider_payment_id.as_str())
        .await
        .expect("ok");
    assert!(t.drain(&shipping).await.is_empty(), "and is not repeated");
}

#[tokio::test]
async fn forged_or_stale_deliveries_change_nothing_and_mismatched_payments_go_back() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let payment = t.started_payment(&buyer, &order).await;
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

    for (amount, currency) in [(order.total.minor() - 1, "usd"), (order.total.minor(), "eur")] {
        let (header, body) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, &order, amount, currency);
        let outcome = payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("answered 200");
        // Money of the shop's that its order cannot take goes back.
        assert!(matches!(outcome, WebhookOutcome::Refunded(_)), "{outcome:?}");
    }
    // An intent the shop never stored is not the shop's, whatever its
    // metadata says: left alone (tests/tests/integration/stripe.rs shows no refund).
    let (header, body) = payment_succeeded(
        TEST_WEBHOOK_SECRET,
        "pi_not_this_order",
        &order,
        order.total.minor(),
        "usd",
    );
    assert_eq!(
        payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("answered 200"),
        WebhookOutcome::UnknownIntent
    );
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
    let payment = t.started_payment(&buyer, &order).await;
    orders::cancel_order(&t.app, &buyer, &order.id)
        .await
        .expect("cancelled");

    assert_eq!(
        deliver(&t.app, &order, payment.provider_payment_id.as_str())
            .await
            .expect("ok"),
        WebhookOutcome::PaidLate
    );
    deliver(&t.app, &order, payment.provider_payment_id.as_str())
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
        let payment = t.started_payment(&buyer, &order).await;
        let (paid, cancelled) = tokio::join!(
            deliver(&t.app, &order, payment.provider_payment_id.as_str()),
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
    for (kind, object) in [
        ("customer.created", json!({"id": "cus_1", "object": "customer"})),
        // A charge made outside the shop's intents.
        (
            "charge.refunded",
            json!({"id": "ch_1", "object": "charge", "amount": 100, "amount_refunded": 100, "refunded": true, "payment_intent": null}),
        ),
        // A payment intent of another application on the account.
        (
            "charge.refunded",
            json!({"id": "ch_2", "object": "charge", "amount": 100, "amount_refunded": 100, "refunded": true, "payment_intent": "pi_not_ours"}),
        ),
        (
            "charge.dispute.created",
            json!({"id": "du_1", "object": "dispute", "amount": 100, "payment_intent": "pi_not_ours", "reason": "fraudulent", "status": "needs_response"}),
        ),
    ] {
        let (header, body) = provider_event(
            TEST_WEBHOOK_SECRET,
            &format!("evt_{}", unique("other")),
            kind,
            object,
        );
        let outcome = payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("200");
        assert!(
            matches!(outcome, WebhookOutcome::Ignored(_)),
            "{kind}: {outcome:?}"
        );
    }
}

// ---------------------------------------------------------------- the payment lifecycle as Stripe runs it

/// A delivery of a new event (its own id) of type `kind` about `object`.
fn event(kind: &str, object: serde_json::Value) -> (String, Vec<u8>) {
    provider_event(
        TEST_WEBHOOK_SECRET,
        &format!("evt_{}", unique("stripe")),
        kind,
        object,
    )
}

async fn webhook(app: &shared::App, (header, body): &(String, Vec<u8>)) -> Result<WebhookOutcome, Error> {
    payments::handle_webhook(app, Some(header), body).await
}

async fn payment_of(t: &TestApp, order: &Order) -> shared::model::payments::PaymentRecord {
    t.app
        .store
        .get_payment(&order.id)
        .await
        .expect("read")
        .expect("a payment")
}

async fn intent_of(t: &TestApp, order: &Order) -> String {
    payment_of(t, order).await.payment.provider_payment_id.to_string()
}

fn charge_refunded(intent: &str, amount: i64) -> (String, Vec<u8>) {
    event(
        "charge.refunded",
        json!({"id": format!("ch_{intent}"), "object": "charge", "payment_intent": intent, "amount": amount,
               "amount_captured": amount, "amount_refunded": amount, "refunded": true, "status": "succeeded"}),
    )
}

fn dispute(intent: &str, kind: &str, status: &str) -> (String, Vec<u8>) {
    event(
        kind,
        json!({"id": format!("du_{intent}"), "object": "dispute", "charge": format!("ch_{intent}"),
               "payment_intent": intent, "amount": 5000, "currency": "usd", "reason": "fraudulent",
               "status": status}),
    )
}

/// The next `payment_confirmed` on the shipping queue, shipped by the worker.
async fn ship_next(t: &TestApp) -> ShipOutcome {
    let sent = t.drain(&t.queue("shipping").url).await;
    assert_eq!(sent.len(), 1, "one payment_confirmed: {sent:?}");
    let Ok(Message::PaymentConfirmed(message)) = &sent[0].1 else {
        panic!("a payment_confirmed: {:?}", sent[0].1)
    };
    shipping::ship(&t.app, message).await.expect("handled")
}

/// `payment_intent.payment_failed` is recorded and the order stays payable;
/// the same event delivered again is recognised by its id; a failure that
/// arrives after the success changes nothing.
#[tokio::test]
async fn a_failed_attempt_is_recorded_and_the_order_stays_payable() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let order = unpaid_order(&t, &buyer).await;
    let payment = t.started_payment(&buyer, &order).await;
    let intent = payment.provider_payment_id.as_str();
    let failed = |code: &str| {
        event(
            "payment_intent.payment_failed",
            json!({"id": intent, "object": "payment_intent", "amount": order.total.minor(), "currency": "usd",
                   "status": "requires_payment_method", "metadata": {"shop_order_id": order.id.to_string()},
                   "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": code,
                                          "message": "Your card was declined."}}),
        )
    };
    let declined = failed("insufficient_funds");
    assert_eq!(
        webhook(&t.app, &declined).await.expect("200"),
        WebhookOutcome::PaymentFailed("insufficient_funds".into())
    );
    assert_eq!(
        webhook(&t.app, &declined).await.expect("200"),
        WebhookOutcome::AlreadyHandled,
        "the same event id again"
    );
    let record = payment_of(&t, &order).await;
    assert_eq!(record.last_failure.as_deref(), Some("insufficient_funds"));
    assert_eq!(t.status(&order).await, OrderStatus::PendingPayment);
    let started = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("still payable");
    let created = matches!(started, shared::usecases::payments::PaymentStart::Created(_));
    let again = started.into_payment();
    assert!(!created && again.id == payment.id);

    assert_eq!(
        deliver(&t.app, &order, intent).await.expect("200"),
        WebhookOutcome::Paid
    );
    // A failure of an earlier attempt, delivered after the success.
    webhook(&t.app, &failed("stolen_card")).await.expect("200");
    let record = payment_of(&t, &order).await;
    assert_eq!(record.payment.status, PaymentStatus::Succeeded);
    assert_eq!(record.last_failure.as_deref(), Some("insufficient_funds"));
    assert_eq!(t.status(&order).await, OrderStatus::Paid);
}

/// A whole refund made in the provider's dashboard moves a paid order to
/// `REFUNDED` as our own refund would, gives its stock back once, and the
/// shipping worker no longer ships it. One that arrives before the payment
/// it refunds answers `EVENT_OUT_OF_ORDER`, so the provider sends it again.
#[tokio::test]
async fn a_refund_made_at_the_provider_refunds_the_order_and_stops_shipping() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("dashboard", 2_500, 10).await;
    let order = t.order(&buyer, &[(&product, 2)]).await.expect("placed");
    payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    let intent = intent_of(&t, &order).await;
    let early = charge_refunded(&intent, order.total.minor());
    assert!(matches!(
        webhook(&t.app, &early).await,
        Err(Error::EventOutOfOrder(_))
    ));
    assert_eq!(t.status(&order).await, OrderStatus::PendingPayment);

    assert_eq!(t.pay(&buyer, &order).await, WebhookOutcome::Paid);
    assert_eq!(t.stock(&product).await, 8);
    // The provider delivers the refund again: now it applies.
    assert_eq!(
        webhook(&t.app, &early).await.expect("200"),
        WebhookOutcome::RefundedAtProvider
    );
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(t.stock(&product).await, 10, "nothing left the warehouse");
    let record = payment_of(&t, &order).await;
    assert_eq!(record.payment.status, PaymentStatus::Refunded);
    assert_eq!(
        ship_next(&t).await,
        ShipOutcome::NotShippable(OrderStatus::Refunded)
    );
    assert_eq!(
        webhook(&t.app, &charge_refunded(&intent, order.total.minor()))
            .await
            .expect("200"),
        WebhookOutcome::AlreadyHandled
    );
    assert_eq!(t.stock(&product).await, 10, "restocked once");
    // Our own refund asked afterwards finds nothing to do.
    assert!(matches!(
        shared::usecases::refunds::refund_order(&t.app, &buyer, &order.id).await,
        Err(Error::InvalidState(OrderStatus::Refunded))
    ));
}

/// A dispute holds an unshipped order (the worker does not ship it) and is
/// listed for admins; a dispute won hands the order to shipping again.
#[tokio::test]
async fn a_dispute_holds_an_unshipped_order_until_it_is_won() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("disputed", 5_000, 10).await;
    let order = t.paid_order(&buyer, &[(&product, 1)]).await;
    let intent = intent_of(&t, &order).await;

    assert_eq!(
        webhook(
            &t.app,
            &dispute(&intent, "charge.dispute.created", "needs_response")
        )
        .await
        .expect("200"),
        WebhookOutcome::Disputed("needs_response".into())
    );
    let held = orders::get_order(&t.app, &buyer, &order.id).await.expect("read");
    assert!(held.held(), "{held:?}");
    assert_eq!(
        held.dispute.as_ref().map(|d| d.reason.as_str()),
        Some("fraudulent")
    );
    let listed = payments::disputes(&t.app, 10).await.expect("listed");
    assert!(
        listed
            .iter()
            .any(|d| d.order_id == order.id && d.dispute.status.as_str() == "needs_response")
    );

    assert_eq!(ship_next(&t).await, ShipOutcome::Held);
    assert_eq!(t.status(&order).await, OrderStatus::Paid);

    webhook(
        &t.app,
        &dispute(&intent, "charge.dispute.updated", "under_review"),
    )
    .await
    .expect("200");
    assert!(t.drain(&t.queue("shipping").url).await.is_empty(), "still held");
    assert_eq!(
        webhook(&t.app, &dispute(&intent, "charge.dispute.closed", "won"))
            .await
            .expect("200"),
        WebhookOutcome::Disputed("won".into())
    );
    assert!(matches!(ship_next(&t).await, ShipOutcome::Shipped(_)));
    assert_eq!(t.status(&order).await, OrderStatus::Shipped);
}

/// A lost dispute no longer leaves an unshipped order paid and held for
/// ever: the bank returned the money, so the order ends `REFUNDED` with its
/// stock back and the lost dispute on it; a repeat changes nothing more.
/// A shipped order keeps its status and shows the dispute lost.
#[tokio::test]
async fn a_lost_dispute_ends_an_unshipped_order_and_releases_its_stock() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("dispute-lost", 5_000, 10).await;
    let order = t.paid_order(&buyer, &[(&product, 2)]).await;
    let intent = intent_of(&t, &order).await;
    assert_eq!(t.stock(&product).await, 8);
    webhook(
        &t.app,
        &dispute(&intent, "charge.dispute.created", "needs_response"),
    )
    .await
    .expect("200");
    assert_eq!(ship_next(&t).await, ShipOutcome::Held);
    for _ in 0..2 {
        assert_eq!(
            webhook(&t.app, &dispute(&intent, "charge.dispute.closed", "lost"))
                .await
                .expect("200"),
            WebhookOutcome::Disputed("lost".into())
        );
    }
    let ended = orders::get_order(&t.app, &buyer, &order.id).await.expect("read");
    assert_eq!(ended.status, OrderStatus::Refunded);
    assert_eq!(ended.dispute.as_ref().map(|d| d.status.as_str()), Some("lost"));
    assert_eq!(t.stock(&product).await, 10, "released once");

    // Shipped before the dispute was lost: it stays shipped, dispute shown.
    let shipped = t.paid_order(&buyer, &[(&product, 1)]).await;
    assert!(matches!(ship_next(&t).await, ShipOutcome::Shipped(_)));
    let intent = intent_of(&t, &shipped).await;
    webhook(&t.app, &dispute(&intent, "charge.dispute.closed", "lost"))
        .await
        .expect("200");
    let kept = orders::get_order(&t.app, &buyer, &shipped.id)
        .await
        .expect("read");
    assert_eq!(kept.status, OrderStatus::Shipped);
    assert_eq!(kept.dispute.as_ref().map(|d| d.status.as_str()), Some("lost"));
    assert_eq!(t.stock(&product).await, 9);
}

/// A refund the provider accepted and then could not carry out puts the
/// order back in `REFUND_PENDING` with the reason, listed for an operator;
/// the retry refunds under a new idempotency key and restocks nothing
/// twice.
#[tokio::test]
async fn a_refund_that_fails_after_acceptance_goes_back_to_pending_for_a_retry() {
    use shared::usecases::refunds;
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("refund-fails", 1_000, 10).await;
    let order = t.paid_order(&buyer, &[(&product, 3)]).await;
    let intent = intent_of(&t, &order).await;
    refunds::refund_order(&t.app, &buyer, &order.id)
        .await
        .expect("asked");
    let requested = t.drain(&t.queue("refunds").url).await;
    let Ok(Message::RefundRequested(request)) = &requested[0].1 else {
        panic!("a refund_requested")
    };
    assert!(matches!(
        refunds::process(&t.app, request).await.expect("ran"),
        refunds::RefundOutcome::Refunded { restocked: true }
    ));
    assert_eq!(t.stock(&product).await, 10);

    let failed = event(
        "charge.refund.updated",
        json!({"id": "re_1", "object": "refund", "amount": order.total.minor(), "payment_intent": intent,
               "status": "failed", "failure_reason": "expired_or_canceled_card"}),
    );
    let outcome = webhook(&t.app, &failed).await.expect("200");
    assert!(
        matches!(&outcome, WebhookOutcome::RefundFailed(reason) if reason.contains("expired_or_canceled_card")),
        "{outcome:?}"
    );
    assert_eq!(t.status(&order).await, OrderStatus::RefundPending);
    let refused = refunds::refused_refunds(&t.app, 10).await.expect("listed");
    assert!(refused.iter().any(|r| {
        r.payment.order_id == order.id
            && r.refund
                .refusal()
                .is_some_and(|e| e.contains("expired_or_canceled_card"))
    }));

    refunds::retry_refused_refund(&t.app, &order.id)
        .await
        .expect("retried");
    let again = t.drain(&t.queue("refunds").url).await;
    let Ok(Message::RefundRequested(request)) = &again[0].1 else {
        panic!("a refund_requested")
    };
    assert!(matches!(
        refunds::process(&t.app, request).await.expect("ran"),
        refunds::RefundOutcome::Refunded { restocked: false }
    ));
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(t.stock(&product).await, 10, "the stock came back once");
    let record = payment_of(&t, &order).await;
    assert_eq!(record.refund_attempt, 1, "the retry had a key of its own");
}
