//! The Stripe adapter against a local stub of Stripe's API: the exact
//! requests (form encoding, auth, idempotency key) and the error mapping.
//! Never the internet.

use serde_json::json;
use shared::adapters::payments::{IntentRequest, PaymentProvider, ProviderError, StripeProvider};
use shared::foundation::money::{Currency, Money};
use shared::foundation::secret::Secret;
use shared::model::orders::OrderId;
use shop_tests::TestApp;
use shop_tests::fixtures::customer;
use shop_tests::stub::Stub;

const KEY: &str = "sk_test_51shopSECRETkey";

fn request<'a>(order: &'a OrderId, currency: &'a Currency) -> IntentRequest<'a> {
    IntentRequest {
        order_id: order,
        amount: Money::new(12_345).expect("valid"),
        currency,
        idempotency_key: format!("shop-order-{order}-payment"),
    }
}

#[tokio::test]
async fn creates_a_payment_intent_with_the_exact_request() {
    let stub = Stub::start().await;
    stub.respond(200, json!({"id": "pi_123", "object": "payment_intent", "client_secret": "pi_123_secret_abc", "status": "requires_payment_method"}));
    let stripe = StripeProvider::new(stub.url.clone(), Some(Secret::new(KEY)));
    let order = OrderId::new();
    let currency = Currency::parse("USD".into()).expect("valid");
    let intent = stripe
        .create_intent(request(&order, &currency))
        .await
        .expect("created");
    assert_eq!(intent.id.as_str(), "pi_123");
    assert_eq!(intent.client_secret.as_deref(), Some("pi_123_secret_abc"));

    let seen = stub.seen();
    assert_eq!(seen.len(), 1);
    let call = &seen[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        call.header("idempotency-key"),
        Some(format!("shop-order-{order}-payment").as_str())
    );
    assert_eq!(
        call.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = call.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("amount"), Some("12345"));
    assert_eq!(field("currency"), Some("usd"), "Stripe wants lower case");
    // Namespaced, so another integration's `order_id` is never read as ours.
    assert_eq!(field("metadata[shop_order_id]"), Some(order.to_string().as_str()));
    assert_eq!(field("metadata[order_id]"), None);
    // The API version is pinned: the account's default cannot change shapes.
    assert_eq!(call.header("stripe-version"), Some("2026-10-28.endive"));
    // Cards only: they settle at once, so no payment is still processing
    // when the order's reservation runs out.
    assert_eq!(field("payment_method_types[]"), Some("card"));
    assert_eq!(field("automatic_payment_methods[enabled]"), None);
    assert!(
        call.body.contains("metadata%5Bshop_order_id%5D="),
        "form-encoded brackets: {}",
        call.body
    );
}

#[tokio::test]
async fn maps_errors_and_never_leaks_the_key() {
    let stub = Stub::start().await;
    let stripe = StripeProvider::new(stub.url.clone(), Some(Secret::new(KEY)));
    let order = OrderId::new();
    let currency = Currency::parse("USD".into()).expect("valid");

    stub.respond(500, json!({"error": {"type": "api_error"}}));
    let err = stripe
        .create_intent(request(&order, &currency))
        .await
        .expect_err("5xx");
    assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
    stub.respond(429, json!({"error": {"type": "rate_limit_error"}}));
    assert!(matches!(
        stripe.create_intent(request(&order, &currency)).await,
        Err(ProviderError::Transient(_))
    ));
    stub.respond(
        400,
        json!({"error": {"type": "invalid_request_error", "message": "Invalid currency"}}),
    );
    let err = stripe
        .create_intent(request(&order, &currency))
        .await
        .expect_err("4xx");
    assert!(
        matches!(err, ProviderError::Rejected(ref m) if m.contains("Invalid currency")),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains(KEY));

    let unreachable = StripeProvider::new("http://127.0.0.1:9".into(), Some(Secret::new(KEY)));
    let err = unreachable
        .create_intent(request(&order, &currency))
        .await
        .expect_err("down");
    assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
    assert!(!format!("{err:?}").contains(KEY));

    let keyless = StripeProvider::new(stub.url.clone(), None);
    assert!(matches!(
        keyless.create_intent(request(&order, &currency)).await,
        Err(ProviderError::Rejected(_))
    ));
}

/// The shop paying through the Stripe adapter, Stripe being `stub`.
async fn through_stripe(stub: &Stub) -> TestApp {
    TestApp::spawn_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_API_KEY", KEY),
        ("STRIPE_API_BASE", &stub.url),
    ])
    .await
}

#[tokio::test]
async fn the_shop_starts_stripe_payments_once_per_order() {
    let stub = Stub::start().await;
    let t = through_stripe(&stub).await;
    let buyer = customer();
    let product = t.product("stripe", 4_200, 3).await;
    let order = t.order(&buyer, &[(&product, 2)]).await.expect("placed");

    stub.respond(503, json!({"error": {"type": "api_error"}}));
    let down = shared::usecases::payments::start_payment(&t.app, &buyer, &order.id).await;
    assert!(
        matches!(down, Err(shared::Error::Unavailable(_))),
        "a 503 to retry: {down:?}"
    );

    stub.respond(
        200,
        json!({"id": "pi_live_1", "client_secret": "pi_live_1_secret"}),
    );
    let started = shared::usecases::payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    let created = matches!(started, shared::usecases::payments::PaymentStart::Created(_));
    let payment = started.into_payment();
    assert!(created);
    assert_eq!(
        (payment.provider.as_str(), payment.provider_payment_id.as_str()),
        ("stripe", "pi_live_1")
    );
    shared::usecases::payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("again");
    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "no call for the repeat");
    assert_eq!(
        seen[0].header("idempotency-key"),
        seen[1].header("idempotency-key"),
        "the retry reuses the key"
    );
    assert_eq!(
        seen[1]
            .form()
            .iter()
            .find(|(k, _)| k == "amount")
            .map(|(_, v)| v.clone()),
        Some("8400".into())
    );
}

/// A payment the shop did not make (no intent of that id was stored)
/// belongs to another integration on the same Stripe account, even when its
/// metadata names one of our orders: it is counted and left alone. No
/// request reaches Stripe, and the order named does not move.
#[tokio::test]
async fn a_payment_the_shop_did_not_make_is_never_refunded() {
    let stub = Stub::start().await;
    let t = through_stripe(&stub).await;
    let buyer = customer();
    let product = t.product("foreign", 1_500, 5).await;
    let order = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    for metadata in [
        json!({"shop_order_id": order.id.to_string()}),
        json!({"order_id": order.id.to_string()}),
        json!({}),
    ] {
        let (header, body) = shop_tests::fixtures::provider_event(
            shop_tests::TEST_WEBHOOK_SECRET,
            &format!("evt_{}", uuid::Uuid::now_v7().simple()),
            "payment_intent.succeeded",
            json!({"id": "pi_another_integration", "object": "payment_intent", "amount": 1_500,
                   "amount_received": 1_500, "currency": "usd", "status": "succeeded",
                   "metadata": metadata}),
        );
        let outcome = shared::usecases::payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("answered 200");
        assert_eq!(outcome, shared::usecases::payments::WebhookOutcome::UnknownIntent);
        assert_eq!(outcome.kind(), "unknown_intent", "the alarmed metric's outcome");
    }
    assert!(
        stub.seen().is_empty(),
        "nothing asked of Stripe: {:?}",
        stub.seen().len()
    );
    let stored = shared::usecases::orders::get_order(&t.app, &buyer, &order.id)
        .await
        .expect("read");
    assert_eq!(stored.status, shared::model::orders::OrderStatus::PendingPayment);
}

/// Cancel and expiry cancel the order's PaymentIntent (Stripe's
/// `POST /v1/payment_intents/{id}/cancel`, with an idempotency key), so a
/// card can no longer be charged for a released order; an intent Stripe
/// can no longer cancel (it succeeded: its webhook follows) is no error.
#[tokio::test]
async fn a_cancelled_or_expired_order_cancels_its_payment_intent() {
    let stub = Stub::start().await;
    let t = through_stripe(&stub).await;
    let buyer = customer();
    let product = t.product("cancel-intent", 1_500, 5).await;

    let order = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    stub.respond(200, json!({"id": "pi_cancel_1", "object": "payment_intent", "client_secret": "pi_cancel_1_secret", "status": "requires_payment_method"}));
    shared::usecases::payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
    stub.respond(200, json!({"id": "pi_cancel_1", "object": "payment_intent", "status": "canceled", "cancellation_reason": "abandoned"}));
    shared::usecases::orders::cancel_order(&t.app, &buyer, &order.id)
        .await
        .expect("cancelled");
    let seen = stub.seen();
    let call = seen.last().expect("a call");
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/payment_intents/pi_cancel_1/cancel")
    );
    assert_eq!(
        call.header("idempotency-key"),
        Some(format!("shop-order-{}-cancel-intent", order.id).as_str())
    );
    assert!(
        call.form()
            .contains(&("cancellation_reason".into(), "abandoned".into()))
    );

    // Expired, its intent succeeded meanwhile: Stripe refuses the cancel,
    // the expiry goes on (the late payment's webhook will refund it).
    let expiring = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    stub.respond(200, json!({"id": "pi_cancel_2", "object": "payment_intent", "client_secret": "pi_cancel_2_secret", "status": "requires_payment_method"}));
    shared::usecases::payments::start_payment(&t.app, &buyer, &expiring.id)
        .await
        .expect("started");
    stub.respond(400, json!({"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state", "message": "You cannot cancel this PaymentIntent because it has a status of succeeded."}}));
    let due = shared::foundation::clock::Timestamp::now().plus_secs(t.app.config.order_ttl_secs + 1);
    let report = shared::usecases::orders::expire_orders(&t.app, due)
        .await
        .expect("ran");
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(
        stub.seen().last().map(|c| c.path.clone()).as_deref(),
        Some("/v1/payment_intents/pi_cancel_2/cancel")
    );
    assert_eq!(t.stock(&product).await, 5, "both released");
}

/// The Stripe stand-in that `make chaos` runs (`stress provider`) answers
/// every call the adapter makes as Stripe documents it: intent and refund
/// objects, an idempotency key's first answer replayed (with
/// `Idempotent-Replayed`), the same key with other parameters refused
/// (`idempotency_error`), a second refund refused (`charge_already_refunded`).
/// The adapter reads each answer as it would read Stripe's.
#[tokio::test]
async fn the_stripe_stand_in_answers_the_adapter_in_stripes_shapes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    tokio::spawn(stress::provider::serve(
        port,
        stress::faults::Mode { rate: 0.0, seed: 1 },
    ));
    let base = format!("http://127.0.0.1:{port}");
    let http = shared::adapters::http_client().build().expect("an HTTP client");
    for _ in 0..50 {
        if http.get(format!("{base}/_ledger")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stripe = StripeProvider::new(base.clone(), Some(Secret::new(KEY)));
    let currency = Currency::parse("USD".into()).expect("valid");
    let order = OrderId::new();

    let intent = stripe
        .create_intent(request(&order, &currency))
        .await
        .expect("created");
    assert!(intent.id.as_str().starts_with("pi_") && intent.client_secret.is_some());
    let again = stripe
        .create_intent(request(&order, &currency))
        .await
        .expect("replayed");
    assert_eq!(again, intent, "the key's first answer");
    let raw = http
        .post(format!("{base}/v1/payment_intents"))
        .bearer_auth(KEY)
        .header("idempotency-key", format!("shop-order-{order}-payment"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "amount=12345&currency=usd&metadata%5Bshop_order_id%5D={order}&payment_method_types%5B%5D=card"
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        raw.headers().get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let replayed: serde_json::Value = raw.json().await.expect("json");
    assert_eq!(replayed["object"], "payment_intent");
    assert_eq!(replayed["payment_method_types"], json!(["card"]));
    let mut other = request(&order, &currency);
    other.amount = Money::new(1).expect("valid");
    assert!(
        matches!(stripe.create_intent(other).await, Err(ProviderError::Rejected(detail)) if detail.contains("idempotency_error")),
        "the same key with other parameters"
    );

    // Cancelled before any payment; a second cancel is no error.
    stripe
        .cancel_intent(&intent.id, format!("shop-order-{order}-cancel-intent"))
        .await
        .expect("cancelled");

    // A paid intent: refunded once, then Stripe's charge_already_refunded.
    let paid_order = OrderId::new();
    let paid = stripe
        .create_intent(request(&paid_order, &currency))
        .await
        .expect("created");
    let captured = http
        .post(format!("{base}/_ledger/capture/{}", paid.id))
        .send()
        .await
        .expect("captured");
    assert!(captured.status().is_success());
    let refund = |key: &str| shared::adapters::payments::RefundRequest {
        order_id: Some(&paid_order),
        provider_payment_id: &paid.id,
        amount: Money::new(12_345).expect("valid").of(currency).expect("USD"),
        idempotency_key: key.to_owned(),
    };
    let first = stripe
        .refund(refund("shop-order-x-refund"))
        .await
        .expect("refunded");
    assert!(first.starts_with("re_"));
    assert_eq!(
        stripe.refund(refund("shop-order-x-refund")).await,
        Ok(first),
        "replayed"
    );
    assert_eq!(
        stripe.refund(refund("shop-order-x-refund-1")).await,
        Err(ProviderError::AlreadyRefunded)
    );
    stripe
        .cancel_intent(&paid.id, format!("shop-order-{paid_order}-cancel-intent"))
        .await
        .expect("a succeeded intent cannot be cancelled: no error, its webhook follows");
}
