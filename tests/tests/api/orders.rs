//! End to end: the order rows of the contract's "Orders" through the gateway and the
//! real binaries, expiry by the gateway's schedule included.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shop_tests::fixtures::address;
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Api, unique};

/// The fixture's address without its optional second line (answered as
/// `null`).
fn address_without_line2() -> Value {
    let mut address = address();
    address.as_object_mut().expect("an object").remove("line2");
    address
}

/// A new product in a category of its own: its id.
async fn product(api: &Api, admin: &str, price: i64, stock: i64) -> String {
    let product = api.product(admin, &unique("ord"), price, stock).await;
    product["id"].as_str().expect("id").to_owned()
}

async fn stock(api: &Api, id: &str) -> i64 {
    api.get(&format!("/products/{id}"), None).await.body["stock"]
        .as_i64()
        .expect("stock")
}

fn order_body(lines: &[(&str, u32)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(id, q)| json!({"product_id": id, "quantity": q}))
        .collect();
    json!({"items": items, "shipping_address": address_without_line2()})
}

#[tokio::test]
async fn order_browse_cancel_journey() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let lamp = product(&api, &admin, 3_500, 5).await;
    let socks = product(&api, &admin, 1_900, 10).await;
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());

    let placed = api
        .post("/orders", token, order_body(&[(&lamp, 2), (&socks, 3)]))
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order = placed.body;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["user_id"], customer.id.as_str());
    assert_eq!(order["total"], 2 * 3_500 + 3 * 1_900);
    assert_eq!(order["items"][1]["line_total"], 5_700);
    let mut shipped_to = address_without_line2();
    shipped_to["line2"] = Value::Null;
    assert_eq!(order["shipping_address"], shipped_to);
    for absent in ["paid_at", "delivered_at"] {
        assert_eq!(order[absent], Value::Null);
    }
    assert!(order["expires_at"].is_string());
    assert_eq!((stock(&api, &lamp).await, stock(&api, &socks).await), (3, 7));

    let id = order["id"].as_str().expect("id");
    let fetched = api.get(&format!("/orders/{id}"), token).await;
    assert_eq!(fetched.body, order);
    let listed = api.get("/orders", token).await;
    assert_eq!(listed.body["items"][0]["id"], order["id"]);
    let by_admin = api.get(&format!("/orders/{id}"), Some(&admin)).await;
    assert_eq!(by_admin.status, StatusCode::OK, "admins see every order");

    let other = api.customer().await;
    api.get(&format!("/orders/{id}"), Some(&other.token))
        .await
        .assert_problem(404, "NOT_FOUND");
    api.post(&format!("/orders/{id}/cancel"), Some(&other.token), json!({}))
        .await
        .assert_problem(404, "NOT_FOUND");
    let others_list = api.get("/orders", Some(&other.token)).await;
    assert_eq!(others_list.body["items"], json!([]));

    let cancelled = api
        .send(Method::POST, &format!("/orders/{id}/cancel"), token, None)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!((stock(&api, &lamp).await, stock(&api, &socks).await), (5, 10));

    let again = api
        .send(Method::POST, &format!("/orders/{id}/cancel"), token, None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "INVALID_STATE");
    assert_eq!(again.body["status"], "CANCELLED", "the current status");
}

#[tokio::test]
async fn short_and_unavailable_lines_change_nothing() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let plenty = product(&api, &admin, 100, 20).await;
    let scarce = product(&api, &admin, 100, 1).await;
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());

    let short = api
        .post("/orders", token, order_body(&[(&plenty, 2), (&scarce, 4)]))
        .await;
    short.assert_problem(409, "OUT_OF_STOCK");
    assert_eq!(
        short.body["items"],
        json!([{"product_id": scarce, "requested": 4, "available": 1}])
    );
    assert_eq!(stock(&api, &plenty).await, 20);

    api.send(Method::DELETE, &format!("/products/{scarce}"), Some(&admin), None)
        .await;
    let gone = api
        .post("/orders", token, order_body(&[(&plenty, 1), (&scarce, 1)]))
        .await;
    gone.assert_problem(409, "PRODUCT_UNAVAILABLE");
    assert_eq!(gone.body["product_id"], scarce.as_str());
    let unknown = api
        .post(
            "/orders",
            token,
            order_body(&[("0196b7a0-0000-7000-8000-00000000beef", 1)]),
        )
        .await;
    unknown.assert_problem(409, "PRODUCT_UNAVAILABLE");
    assert_eq!(stock(&api, &plenty).await, 20);
    assert_eq!(api.get("/orders", token).await.body["items"], json!([]));
}

#[tokio::test]
async fn order_input_is_strict() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());
    let reply = api
        .post(
            "/orders",
            token,
            json!({"items": [{"product_id": "x", "quantity": 0, "unit_price": 1}], "shipping_address": {"country": "USA"}, "total": 1}),
        )
        .await;
    reply.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(
        reply.error_fields(),
        [
            "items[0].product_id",
            "items[0].quantity",
            "items[0].unit_price",
            "shipping_address.name",
            "shipping_address.line1",
            "shipping_address.country",
            "total"
        ]
    );
    let admin = api.admin().await;
    api.post(
        "/orders",
        Some(&admin),
        order_body(&[("0196b7a0-0000-7000-8000-00000000beef", 1)]),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    api.post("/orders", None, order_body(&[]))
        .await
        .assert_problem(401, "UNAUTHENTICATED");
    api.get("/orders?limit=500", token)
        .await
        .assert_problem(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let item = product(&api, &admin, 700, 10).await;
    let customer = api.customer().await;
    let key = unique("key");
    let send = |body: Value, key: String| {
        let api = api.clone();
        let token = customer.token.clone();
        async move {
            api.read(
                api.request(Method::POST, "/orders")
                    .bearer_auth(token)
                    .header("idempotency-key", key)
                    .json(&body),
            )
            .await
        }
    };
    let first = send(order_body(&[(&item, 2)]), key.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let replay = send(order_body(&[(&item, 2)]), key.clone()).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body, "the first response again");
    assert_eq!(stock(&api, &item).await, 8, "reserved once");
    let listed = api.get("/orders", Some(&customer.token)).await;
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 1);

    let reused = send(order_body(&[(&item, 3)]), key.clone()).await;
    reused.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");

    // The same key from another user is another key.
    let other = api.customer().await;
    let theirs = api
        .read(
            api.request(Method::POST, "/orders")
                .bearer_auth(&other.token)
                .header("idempotency-key", &key)
                .json(&order_body(&[(&item, 1)])),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED);

    // Concurrent first attempts: one order; the rest replay it or are told it is in progress.
    let racing_key = unique("race");
    let racers = (0..6).map(|_| send(order_body(&[(&item, 1)]), racing_key.clone()));
    let results = futures::future::join_all(racers).await;
    let created: Vec<_> = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|r| r.body["id"] == created[0].body["id"]),
        "one order"
    );
    for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
        r.assert_problem(409, "IDEMPOTENCY_IN_PROGRESS");
    }
    assert_eq!(stock(&api, &item).await, 6);

    let bad_key = api
        .read(
            api.request(Method::POST, "/orders")
                .bearer_auth(&customer.token)
                .header("idempotency-key", "x".repeat(256))
                .json(&order_body(&[(&item, 1)])),
        )
        .await;
    bad_key.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(bad_key.error_fields(), ["Idempotency-Key"]);
}

#[tokio::test]
async fn unpaid_orders_expire_on_schedule_and_release_their_stock() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let item = product(&api, &admin, 2_500, 4).await;
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());
    let placed = api.post("/orders", token, order_body(&[(&item, 3)])).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    assert_eq!(stock(&api, &item).await, 1);
    let id = placed.body["id"].as_str().expect("id").to_owned();

    // make test runs with a short ORDER_TTL_SECONDS and SCHEDULE_INTERVAL_SECONDS;
    // a deployed stack's TTL is at least a minute, and its schedule is run
    // by the test (`run_schedules`).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        api.run_schedules().await;
        let order = api.get(&format!("/orders/{id}"), token).await;
        if order.body["status"] == "CANCELLED" {
            assert_eq!(order.body["expires_at"], Value::Null);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the order did not expire: {}",
            order.text
        );
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    assert_eq!(stock(&api, &item).await, 4, "stock released once");
}
