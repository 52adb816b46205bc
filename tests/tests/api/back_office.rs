//! End to end: the contract's "Back office" rows through the gateway (or a
//! deployed stack), admin-only, with the indexer reading the table's
//! stream for the sales figures.

use std::time::{Duration, Instant};

use serde_json::Value;
use shop_tests::Api;
use shop_tests::reqwest::StatusCode;

#[tokio::test]
async fn the_back_office_answers_admins_only_and_finds_a_new_order() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let customer = api.customer().await;
    let product = api.product(&admin, "back-office", 4_200, 5).await;
    let product = product["id"].as_str().expect("id");
    let address = shop_tests::fixtures::address();
    let placed = api
        .post(
            "/orders",
            Some(&customer.token),
            serde_json::json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": address}),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order = placed.body["id"].as_str().expect("order").to_owned();
    let today = time::OffsetDateTime::now_utc().date();

    let email = customer.email.to_uppercase();
    let paths = [
        format!("/admin/orders?email={}", urlencoding(&email)),
        format!("/admin/customers?email={}", urlencoding(&customer.email)),
        format!("/admin/customers/{}", customer.id),
        format!("/admin/reports/sales?from={today}&to={today}"),
    ];
    for path in &paths {
        api.get(path, Some(&customer.token))
            .await
            .assert_problem(403, "FORBIDDEN");
        api.get(path, None).await.assert_problem(401, "UNAUTHENTICATED");
    }
    let found = api.get(&paths[0], Some(&admin)).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let ids: Vec<&str> = found.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [order.as_str()],
        "the customer's one order, by email in any case"
    );
    let pending = api
        .get("/admin/orders?status=PENDING_PAYMENT&limit=100", Some(&admin))
        .await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.text);
    let customers = api.get(&paths[1], Some(&admin)).await;
    assert_eq!(customers.body["items"][0]["id"], customer.id.as_str());
    assert_eq!(customers.body["items"][0]["verified"], true);
    let detail = api.get(&paths[2], Some(&admin)).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.body["orders"][0]["id"], order.as_str());
    api.get("/admin/reports/sales?from=2026-12-05&to=2026-12-01", Some(&admin))
        .await
        .assert_problem(400, "VALIDATION_FAILED");

    // The indexer reads the stream: today's figures count the order soon.
    let started = Instant::now();
    loop {
        let report = api.get(&paths[3], Some(&admin)).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.text);
        let placed: i64 = report.body["days"]
            .as_array()
            .expect("days")
            .iter()
            .filter_map(|row: &Value| row["placed"].as_i64())
            .sum();
        if placed >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the order is not in today's figures: {}",
            report.text
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `%`-encodes what a query value must not hold raw.
fn urlencoding(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
