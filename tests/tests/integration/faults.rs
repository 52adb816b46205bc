//! The faults production brings, scripted one at a time through the
//! fault-injecting proxy in front of the emulator (`TestApp::faulty`), and
//! what the reconciler finishes. Each test fails without the fix it names.

use serde_json::json;
use shared::Error;
use shared::foundation::clock::{Deadline, Timestamp};
use shared::foundation::input::parse_document;
use shared::model::idempotency::{Claim, Mark};
use shared::model::messages::{Message, QueueKind};
use shared::usecases::{payments, products, reconcile, refunds};
use shop_tests::TestApp;
use shop_tests::fixtures::{admin, customer};
use stress::faults::{Fault, Rule};

fn rule(operation: &str, contains: &str, fault: Fault, times: u32) -> Rule {
    Rule {
        operation: operation.into(),
        contains: Some(contains.into()),
        fault,
        times,
    }
}

/// Fix: `TransactionConflictException` on a single-item write is retried
/// by the SDK (a classifier of our own), not answered `503`/`500`.
#[tokio::test]
async fn a_conflict_on_a_plain_write_is_retried() {
    let t = TestApp::spawn().await;
    let product = t.product("conflict", 1_000, 5).await;
    let order = t.paid_order(&customer(), &[(&product, 1)]).await;
    let (faulty, faults) = t.faulty().await;
    faults.script(rule("UpdateItem", "PAYMENT", Fault::Conflict, 2));
    faulty
        .store
        .mark_handoff(&order.id, QueueKind::Shipping, Timestamp::now())
        .await
        .expect("retried past two conflicts");
    assert_eq!(
        faults.pending(),
        0,
        "both conflicts were met: {:?}",
        faults.tally()
    );
}

/// Fix: the claim of an `Idempotency-Key` whose answer was lost (the put
/// committed) is recognised by the SDK's retry as the caller's own, not
/// answered `409 IDEMPOTENCY_IN_PROGRESS`.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_the_callers() {
    let t = TestApp::spawn().await;
    let (faulty, faults) = t.faulty().await;
    faults.script(rule("PutItem", "IDEMPOTENCY#", Fault::Ambiguous, 1));
    let buyer = customer();
    let claim = faulty
        .store
        .claim_idempotency_key(&buyer.user_id, "lost-answer", "fingerprint", Timestamp::now())
        .await;
    assert!(matches!(claim, Ok(Claim::Run(_))), "{claim:?}");
    assert_eq!(faults.pending(), 0);
}

/// Fix: a restock (an `ADD`, which no state can tell was made) retried
/// under the same `Idempotency-Key` adds once: its transaction marks the
/// key's record.
#[tokio::test]
async fn a_restock_retried_under_its_key_adds_once() {
    let t = TestApp::spawn().await;
    let product = t.product("restock", 1_000, 5).await;
    let boss = admin();
    let claim = t
        .app
        .store
        .claim_idempotency_key(&boss.principal().user_id, "restock-1", "fp", Timestamp::now())
        .await
        .expect("claimed");
    assert!(matches!(claim, Claim::Run(_)));
    let mark = Mark {
        user: boss.principal().user_id.clone(),
        key: "restock-1".into(),
    };
    for _ in 0..2 {
        let patch = parse_document(json!({"stock_delta": 7})).expect("valid");
        let answered = products::update_product(&t.app, &boss, &product.id, patch, Some(&mark))
            .await
            .expect("answered");
        assert_eq!(answered.stock, 12, "the first attempt's result, every time");
    }
    assert_eq!(t.stock(&product).await, 12);
}

/// A transaction whose commit answer is lost is retried by the SDK with the
/// same `ClientRequestToken`: DynamoDB (and the emulator) recognise it, so
/// the order is placed once and its stock taken once.
#[tokio::test]
async fn an_order_whose_commit_answer_was_lost_is_placed_once() {
    let t = TestApp::spawn().await;
    let product = t.product("ambiguous", 1_000, 10).await;
    let (faulty, faults) = t.faulty().await;
    faults.script(rule("TransactWriteItems", "ORDER#", Fault::Ambiguous, 1));
    let buyer = customer();
    let input = parse_document(json!({
        "items": [{"product_id": product.id, "quantity": 3}],
        "shipping_address": shop_tests::fixtures::address(),
    }))
    .expect("valid");
    let order =
        shared::usecases::orders::place_order(&faulty, &buyer, input, shared::model::orders::OrderId::new())
            .await
            .expect("placed");
    assert_eq!(faults.pending(), 0, "the commit's answer was lost");
    assert_eq!(t.stock(&product).await, 7, "three units taken, once");
    assert_eq!(
        t.app
            .store
            .get_order(&order.id)
            .await
            .expect("read")
            .map(|o| o.id),
        Some(order.id)
    );
}

/// Fix: the reconciler sends a hand-off owed past its grace period (the
/// webhook's send failed and the provider never delivered again), once.
#[tokio::test]
async fn the_reconciler_sends_a_hand_off_that_was_never_sent() {
    let t = TestApp::spawn_with(&[("RECONCILE_GRACE_SECONDS", "10")]).await;
    let buyer = customer();
    let product = t.product("reconcile", 2_000, 5).await;
    let order = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    let payment = payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started")
        .into_payment();
    let shipping = t.queue("shipping").url.clone();
    let broken = t.reconfigured(&[("SHIPPING_QUEUE_URL", &format!("{shipping}-does-not-exist"))]);
    let (header, body) = shop_tests::fixtures::payment_succeeded(
        shop_tests::TEST_WEBHOOK_SECRET,
        payment.provider_payment_id.as_str(),
        &order,
        order.total.minor(),
        "usd",
    );
    let failed = payments::handle_webhook(&broken, Some(&header), &body).await;
    assert!(matches!(failed, Err(Error::Unavailable(_))), "{failed:?}");

    let deadline = || Deadline::after(std::time::Duration::from_secs(30));
    let early = reconcile::reconcile(&t.app, Timestamp::now(), deadline())
        .await
        .expect("ran");
    assert_eq!(early.shipping_resent, 0, "within its grace period");
    let later = Timestamp::now().plus_secs(11);
    let report = reconcile::reconcile(&t.app, later, deadline())
        .await
        .expect("ran");
    assert_eq!(report.shipping_resent, 1, "{report:?}");
    let sent = t.drain(&shipping).await;
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].1, Ok(Message::PaymentConfirmed(m)) if m.order_id == order.id));
    let again = reconcile::reconcile(&t.app, later, deadline())
        .await
        .expect("ran");
    assert_eq!((again.shipping_resent, again.cleared), (0, 0), "owed no more");
}

/// Fix: a refund the provider refuses is listed for an operator, counted by
/// the reconciler (the alarm's metric), and can be tried again.
#[tokio::test]
async fn a_refused_refund_is_listed_counted_and_retried() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("refused", 2_000, 5).await;
    let order = t.paid_order(&buyer, &[(&product, 1)]).await;
    refunds::refund_order(&t.app, &buyer, &order.id)
        .await
        .expect("asked");
    let refunds_url = t.queue("refunds").url.clone();
    let requested = t.drain(&refunds_url).await;
    let Some((_, Ok(Message::RefundRequested(message)))) = requested.first() else {
        panic!("a refund request: {requested:?}");
    };
    // Paid in the sandbox, refunded by a worker configured for Stripe.
    let stripe = t.reconfigured(&[("PAYMENT_PROVIDER", "stripe"), ("STRIPE_API_KEY", "sk_test_x")]);
    let outcome = refunds::process(&stripe, message).await.expect("handled");
    assert!(
        matches!(outcome, refunds::RefundOutcome::Refused(_)),
        "{outcome:?}"
    );

    let refused = refunds::refused_refunds(&t.app, 10).await.expect("listed");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].payment.order_id, order.id);
    let deadline = Deadline::after(std::time::Duration::from_secs(30));
    let report = reconcile::reconcile(&t.app, Timestamp::now(), deadline)
        .await
        .expect("ran");
    assert_eq!(report.refused_refunds, 1);

    refunds::retry_refused_refund(&t.app, &order.id)
        .await
        .expect("retried");
    assert!(
        refunds::refused_refunds(&t.app, 10)
            .await
            .expect("listed")
            .is_empty()
    );
    let resent = t.drain(&refunds_url).await;
    assert_eq!(resent.len(), 1, "back on the refunds queue");
    let outcome = refunds::process(&t.app, message).await.expect("handled");
    assert_eq!(outcome, refunds::RefundOutcome::Refunded { restocked: true });
    assert!(matches!(
        refunds::retry_refused_refund(&t.app, &order.id).await,
        Err(Error::NotFound)
    ));
}

/// Fix: an action whose first attempt applied but answered a server error
/// (so its key's claim was released) is run again under the same key; the
/// order found in the state the action leads to is the first attempt's
/// success, not `409 INVALID_STATE`. Without the key's retry, the contract's
/// `409` stands.
#[tokio::test]
async fn a_retried_action_that_applied_before_answers_success() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let product = t.product("retried", 1_000, 5).await;
    let order = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    use shared::model::orders::OrderStatus::Cancelled;
    use shared::usecases::orders;
    orders::cancel_order(&t.app, &buyer, &order.id)
        .await
        .expect("cancelled");
    let again = || orders::cancel_order(&t.app, &buyer, &order.id);
    let plain = orders::done_before(&t.app, &buyer, &order.id, false, &[Cancelled], again().await).await;
    assert!(matches!(plain, Err(Error::InvalidState(Cancelled))), "{plain:?}");
    let retried = orders::done_before(&t.app, &buyer, &order.id, true, &[Cancelled], again().await)
        .await
        .expect("the first attempt's success");
    assert_eq!(retried.status, Cancelled);

    // A `DELIVERED` event likewise; another event is not taken for it.
    let delivered = t.delivered_order(&buyer, &[(&product, 1)]).await;
    let shipment = shared::model::shipping::ShipmentId::for_order(&delivered.id);
    let event = |status: &str| parse_document(json!({"status": status})).expect("valid");
    let deliver_again =
        shared::usecases::shipping::add_event(&t.app, &admin(), &shipment, event("DELIVERED")).await;
    let answered = shared::usecases::shipping::delivered_before(&t.app, &shipment, true, deliver_again)
        .await
        .expect("the first attempt's success");
    assert_eq!(
        answered.status,
        shared::model::shipping::ShipmentStatus::Delivered
    );
    let late_transit =
        shared::usecases::shipping::add_event(&t.app, &admin(), &shipment, event("IN_TRANSIT")).await;
    assert!(matches!(
        shared::usecases::shipping::delivered_before(&t.app, &shipment, false, late_transit).await,
        Err(Error::InvalidState(_))
    ));
}
