//! End to end through the gateway and the real binaries: order → payment →
//! signed webhook → the gateway delivers the shipping queue to the worker →
//! tracking events → DELIVERED. Also `shopctl pay` and the DLQ tools.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shop_tests::fixtures::address;
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Api, Customer, Reply, require_env, stripe_signature, stripe_signature_at, unique};

/// A placed order of the customer's: (order, product id).
async fn order(api: &Api, admin: &str, customer: &Customer) -> (Value, String) {
    let product = api.product(admin, &unique("pay"), 3_000, 5).await;
    let product_id = product["id"].as_str().expect("product").to_owned();
    let placed = api
        .post(
            "/orders",
            Some(&customer.token),
            json!({"items": [{"product_id": product_id, "quantity": 2}], "shipping_address": address()}),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    (placed.body, product_id)
}

async fn post_webhook(api: &Api, body: &[u8], signature: Option<String>) -> Reply {
    let mut request = api
        .request(Method::POST, "/payments/webhook")
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    api.read(request).await
}

/// Polls `path` until `done` says so (the queue is asynchronous).
async fn eventually(api: &Api, path: &str, token: &str, done: impl Fn(&Reply) -> bool) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api.get(path, Some(token)).await;
        if done(&reply) {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never got there: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn order_payment_webhook_shipment_tracking_delivery() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let customer = api.customer().await;
    let (order, _) = order(&api, &admin, &customer).await;
    let id = order["id"].as_str().expect("id");

    let started = api
        .post(&format!("/orders/{id}/payment"), Some(&customer.token), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let payment = started.body.clone();
    assert_eq!(payment["order_id"], id);
    assert_eq!(payment["amount"], 6_000);
    assert_eq!(payment["currency"], "USD");
    assert_eq!(payment["provider"], "sandbox");
    assert_eq!(payment["status"], "requires_payment");
    let again = api
        .post(&format!("/orders/{id}/payment"), Some(&customer.token), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, payment);
    let other = api.customer().await;
    api.post(&format!("/orders/{id}/payment"), Some(&other.token), json!({}))
        .await
        .assert_problem(404, "NOT_FOUND");

    let event = json!({
        "id": format!("evt_{}", unique("e2e")), "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment["provider_payment_id"], "object": "payment_intent",
            "amount_received": 6_000, "currency": "usd", "metadata": {"shop_order_id": id}}}
    });
    let body = serde_json::to_vec(&event).expect("json");
    let secret = require_env("PAYMENT_WEBHOOK_SECRET");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    post_webhook(&api, &body, None)
        .await
        .assert_problem(400, "INVALID_SIGNATURE");
    let forged = stripe_signature("whsec_forged", &body);
    post_webhook(&api, &body, Some(forged))
        .await
        .assert_problem(400, "INVALID_SIGNATURE");
    let stale = stripe_signature_at(&secret, &body, Some(now - 301));
    post_webhook(&api, &body, Some(stale))
        .await
        .assert_problem(400, "INVALID_SIGNATURE");
    let still = api.get(&format!("/orders/{id}"), Some(&customer.token)).await;
    assert_eq!(still.body["status"], "PENDING_PAYMENT", "nothing changed");

    let signed = stripe_signature(&secret, &body);
    for _ in 0..2 {
        let delivered = post_webhook(&api, &body, Some(signed.clone())).await;
        assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.text);
    }

    let shipment = eventually(&api, &format!("/orders/{id}/shipment"), &customer.token, |r| {
        r.status == StatusCode::OK
    })
    .await
    .body;
    assert_eq!(shipment["order_id"], id);
    assert_eq!(shipment["status"], "LABEL_CREATED");
    assert_eq!(shipment["events"].as_array().expect("events").len(), 1);
    let shipped = api.get(&format!("/orders/{id}"), Some(&customer.token)).await;
    assert_eq!(shipped.body["status"], "SHIPPED");
    assert!(shipped.body["paid_at"].is_string());
    api.get(&format!("/orders/{id}/shipment"), Some(&other.token))
        .await
        .assert_problem(404, "NOT_FOUND");

    let shipment_id = shipment["id"].as_str().expect("shipment id");
    let events = format!("/shipments/{shipment_id}/events");
    api.post(&events, Some(&customer.token), json!({"status": "IN_TRANSIT"}))
        .await
        .assert_problem(403, "FORBIDDEN");
    let bad = api
        .post(
            &events,
            Some(&admin),
            json!({"status": "LOST_AT_SEA", "colour": "red"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["status", "colour"]);
    // The carrier posts its tracking events itself, signed with its own
    // secret (no admin's password): a forged one changes nothing.
    let tracking = serde_json::to_vec(&json!({
        "event_id": unique("trk").replace('-', "_"), "shipment_id": shipment_id,
        "tracking_number": shipment["tracking_number"], "status": "IN_TRANSIT", "location": "Hub 7"
    }))
    .expect("json");
    let carrier_secret = require_env("CARRIER_WEBHOOK_SECRET");
    let carrier = |signature: String| {
        api.read(
            api.request(Method::POST, "/carrier/events")
                .header("content-type", "application/json")
                .header("carrier-signature", signature)
                .body(tracking.clone()),
        )
    };
    carrier(stripe_signature("not the carrier's secret", &tracking))
        .await
        .assert_problem(400, "INVALID_SIGNATURE");
    let moving = carrier(stripe_signature(&carrier_secret, &tracking)).await;
    assert_eq!(moving.status, StatusCode::OK, "{}", moving.text);
    assert_eq!(moving.body["events"][1]["location"], "Hub 7");
    assert_eq!(moving.body["status"], "IN_TRANSIT");
    let done = api
        .post(
            &events,
            Some(&admin),
            json!({"status": "DELIVERED", "note": "Left with neighbour"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    assert_eq!(done.body["status"], "DELIVERED");
    let delivered = api.get(&format!("/orders/{id}"), Some(&customer.token)).await;
    assert_eq!(delivered.body["status"], "DELIVERED");
    assert!(delivered.body["delivered_at"].is_string());
    let after = api
        .post(&events, Some(&admin), json!({"status": "EXCEPTION"}))
        .await;
    assert_eq!(after.status, StatusCode::CONFLICT);
    assert_eq!(after.body["code"], "INVALID_STATE");

    let fetched = api.get(&format!("/orders/{id}/shipment"), Some(&admin)).await;
    let statuses: Vec<_> = fetched.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("LABEL_CREATED"), json!("IN_TRANSIT"), json!("DELIVERED")]
    );
}

fn shopctl(args: &[&str]) -> std::process::Output {
    std::process::Command::new(require_env("SHOPCTL"))
        .args(["--env-file", "none"])
        .args(args)
        .output()
        .expect("run shopctl")
}

#[tokio::test]
async fn shopctl_pays_an_order_in_the_sandbox() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let customer = api.customer().await;
    let (order, _) = order(&api, &admin, &customer).await;
    let id = order["id"].as_str().expect("id");

    let unpaid = shopctl(&["pay", id]);
    assert!(!unpaid.status.success(), "no payment started yet");
    api.post(&format!("/orders/{id}/payment"), Some(&customer.token), json!({}))
        .await;
    let paid = shopctl(&["pay", id]);
    assert!(paid.status.success(), "{}", String::from_utf8_lossy(&paid.stderr));
    assert!(String::from_utf8_lossy(&paid.stdout).starts_with("200"));
    eventually(&api, &format!("/orders/{id}"), &customer.token, |r| {
        r.body["status"] == "SHIPPED"
    })
    .await;
}

#[tokio::test]
async fn poison_messages_reach_the_dlq_where_shopctl_shows_and_redrives_them() {
    let api = Api::from_env();
    let marker = unique("poison");
    let sqs = aws_sdk_sqs::Client::new(&shared::adapters::aws_config().expect("an HTTPS client"));
    sqs.send_message()
        .queue_url(require_env("SHIPPING_QUEUE_URL"))
        .message_body(json!({"type": "payment_confirmed", "version": 1, "marker": marker}).to_string())
        .send()
        .await
        .expect("sent");
    let _ = api;

    // Five tries, each hidden for the queue's visibility timeout (make
    // test's 2 s; a deployed stack's at least 20 s).
    let visibility: u64 = std::env::var("QUEUE_VISIBILITY_TIMEOUT_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(60 + 5 * visibility);
    loop {
        let listed = shopctl(&["dlq", "list", "shipping"]);
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        if String::from_utf8_lossy(&listed.stdout).contains(&marker) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the poison message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let redriven = shopctl(&["dlq", "redrive", "shipping"]);
    assert!(
        redriven.status.success(),
        "{}",
        String::from_utf8_lossy(&redriven.stderr)
    );
    let moved: Value = serde_json::from_slice(&redriven.stdout).expect("json");
    assert!(moved["redriven"].as_u64().expect("count") >= 1, "{moved}");
    let listed = shopctl(&["dlq", "list", "shipping"]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&marker),
        "back on the shipping queue"
    );
}
