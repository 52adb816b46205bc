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
    assert_eq!(intent.id, "pi_123");
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
    assert_eq!(field("metadata[order_id]"), Some(order.to_string().as_str()));
    assert!(
        call.body.contains("metadata%5Border_id%5D="),
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
    let (payment, created) = shared::usecases::payments::start_payment(&t.app, &buyer, &order.id)
        .await
        .expect("started");
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
