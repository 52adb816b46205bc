//! End to end: every row of the contract's "Products" through the gateway and the
//! real binaries.

use serde_json::{Value, json};
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Api, unique};

fn category() -> String {
    unique("cat")
}

#[tokio::test]
async fn admins_manage_the_catalogue_and_anyone_browses_it() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let category = category();
    let product = api.product(&admin, &category, 1_450, 12).await;
    assert_eq!(product["price"], 1_450);
    assert_eq!(product["currency"], "USD");
    assert_eq!(product["stock"], 12);
    assert_eq!(product["rating"], json!({"average": null, "count": 0}));
    let id = product["id"].as_str().expect("id");

    let fetched = api.get(&format!("/products/{id}"), None).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, product);

    let second = api.product(&admin, &category, 990, 1).await;
    let listed = api
        .get(&format!("/products?category={category}&limit=1"), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["items"][0]["id"], second["id"], "newest first");
    let cursor = listed.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    // The cursor is URL-safe base64 and a dot: no escaping needed.
    let next = api
        .get(
            &format!("/products?category={category}&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(next.body["items"][0]["id"], product["id"]);
    assert_eq!(next.body["next_cursor"], Value::Null);
    let all = api.get("/products?limit=100", None).await;
    assert!(
        all.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|p| p["id"] == product["id"])
    );

    let patched = api
        .send(
            Method::PATCH,
            &format!("/products/{id}"),
            Some(&admin),
            Some(json!({"price": 1_290, "stock_delta": -2, "name": "Camp mug"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        (patched.body["price"].as_i64(), patched.body["stock"].as_i64()),
        (Some(1_290), Some(10))
    );
    assert_eq!(patched.body["name"], "Camp mug");

    let too_much = api
        .send(
            Method::PATCH,
            &format!("/products/{id}"),
            Some(&admin),
            Some(json!({"stock_delta": -11})),
        )
        .await;
    too_much.assert_problem(409, "OUT_OF_STOCK");
    assert_eq!(
        too_much.body["items"],
        json!([{"product_id": id, "requested": 11, "available": 10}])
    );

    let deleted = api
        .send(Method::DELETE, &format!("/products/{id}"), Some(&admin), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    api.get(&format!("/products/{id}"), None)
        .await
        .assert_problem(404, "NOT_FOUND");
    let listed = api.get(&format!("/products?category={category}"), None).await;
    assert_eq!(listed.body["items"].as_array().expect("items").len(), 1);
    api.send(Method::DELETE, &format!("/products/{id}"), Some(&admin), None)
        .await
        .assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn customers_and_strangers_cannot_manage_the_catalogue() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let body = json!({"name": "X", "category": "x", "price": 1, "stock": 1});
    api.post("/products", Some(&customer.token), body.clone())
        .await
        .assert_problem(403, "FORBIDDEN");
    api.post("/products", None, body)
        .await
        .assert_problem(401, "UNAUTHENTICATED");
    let admin = api.admin().await;
    let product = api.product(&admin, &category(), 100, 1).await;
    let path = format!("/products/{}", product["id"].as_str().expect("id"));
    api.send(
        Method::PATCH,
        &path,
        Some(&customer.token),
        Some(json!({"price": 1})),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    api.send(Method::DELETE, &path, Some(&customer.token), None)
        .await
        .assert_problem(403, "FORBIDDEN");
}

#[tokio::test]
async fn catalogue_input_is_strict() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let bad = api
        .post(
            "/products",
            Some(&admin),
            json!({"name": "", "category": "No Spaces", "price": 0, "stock": -1, "currency": "EUR"}),
        )
        .await;
    bad.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(
        bad.error_fields(),
        ["name", "category", "price", "stock", "currency"]
    );
    let product = api.product(&admin, &category(), 100, 1).await;
    let path = format!("/products/{}", product["id"].as_str().expect("id"));
    let overwrite = api
        .send(Method::PATCH, &path, Some(&admin), Some(json!({"stock": 50})))
        .await;
    assert_eq!(overwrite.error_fields(), ["stock"], "stock is never overwritten");

    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=forged.cursor",
        "category=Bad%20Cat",
    ] {
        let reply = api.get(&format!("/products?{query}"), None).await;
        reply.assert_problem(400, "VALIDATION_FAILED");
    }
    api.get("/products/not-an-id", None)
        .await
        .assert_problem(404, "NOT_FOUND");
    api.get(&format!("/products/{}", uuid_like()), None)
        .await
        .assert_problem(404, "NOT_FOUND");
}

fn uuid_like() -> &'static str {
    "0196b7a0-0000-7000-8000-00000000dead"
}

#[tokio::test]
async fn a_burst_of_two_hundred_clients_is_answered_and_the_stack_keeps_answering() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let product = api.product(&admin, &category(), 2_000, 5).await;
    let id = product["id"].as_str().expect("id").to_owned();
    let page = format!("/products/{id}");
    let burst = (0..200).map(|i| {
        let (api, page) = (&api, &page);
        async move {
            if i % 2 == 0 {
                api.get(page, None).await
            } else {
                api.get("/products?limit=5", None).await
            }
        }
    });
    let replies = futures::future::join_all(burst).await;
    let mut by_status = std::collections::BTreeMap::new();
    for reply in &replies {
        *by_status.entry(reply.status.as_u16()).or_insert(0) += 1;
        match reply.status {
            StatusCode::OK => assert_eq!(reply.header("cache-control"), Some("public, max-age=10")),
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(reply.header("retry-after").is_some(), "429 says when to retry")
            }
            other => panic!(
                "every request is answered, served or throttled: {other} {}",
                reply.text
            ),
        }
    }
    assert!(by_status.get(&200).copied().unwrap_or(0) > 0, "{by_status:?}");
    let started = std::time::Instant::now();
    let after = api.get("/products?limit=1", None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the stack answers after the burst"
    );
}
