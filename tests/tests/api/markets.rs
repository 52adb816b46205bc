//! Markets through the gateway: anyone reads them, admins create, replace
//! and delete them; a country belongs to one market; the default market
//! stays.

use serde_json::{Value, json};
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Api, unique};

fn settings(countries: &[&str], currency: &str) -> Value {
    json!({
        "name": "A market", "countries": countries, "currency": currency,
        "tax_mode": "inclusive", "tax_rounding": "line", "price_rounding": "charm", "duties": "ddp",
        "shipping_methods": [{
            "code": "standard", "name": "Standard",
            "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
            "free_over": 5000, "delivery_days": {"min": 2, "max": 5}
        }]
    })
}

#[tokio::test]
async fn admins_run_markets_and_anyone_reads_them() {
    let api = Api::from_env();
    let admin = api.admin().await;
    let customer = api.customer().await;
    // Countries no other test uses: every run shares the gateway's table.
    let code = unique("m").chars().take(20).collect::<String>();
    let path = format!("/markets/{code}");

    let default = api.get("/markets/default", None).await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.text);
    assert_eq!(default.body["default"], true);
    assert_eq!(default.body["currency"], "USD");

    api.send(
        Method::PUT,
        &path,
        Some(&customer.token),
        Some(settings(&["AQ"], "EUR")),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    let mut bad = settings(&["AQ", "AQ"], "XYZ");
    bad["shipping_methods"][0]["rates"][0]["max_weight_grams"] = json!(9000);
    let refused = api.send(Method::PUT, &path, Some(&admin), Some(bad)).await;
    refused.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(
        refused.error_fields(),
        ["countries", "currency", "shipping_methods[0].rates"]
    );

    let created = api
        .send(
            Method::PUT,
            &path,
            Some(&admin),
            Some(settings(&["AQ", "BV"], "EUR")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["code"], code.as_str());
    assert_eq!(created.body["countries"], json!(["AQ", "BV"]));
    assert_eq!(created.body["shipping_methods"][0]["rates"][1]["price"], 990);
    let replaced = api
        .send(Method::PUT, &path, Some(&admin), Some(settings(&["AQ"], "EUR")))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(api.get(&path, None).await.body, replaced.body);

    let other = format!("/markets/{}", unique("n").chars().take(20).collect::<String>());
    let taken = api
        .send(Method::PUT, &other, Some(&admin), Some(settings(&["AQ"], "EUR")))
        .await;
    taken.assert_problem(409, "COUNTRY_IN_OTHER_MARKET");
    assert_eq!(taken.body["country"], "AQ");
    assert_eq!(taken.body["market"], code.as_str());

    // Listed a page at a time, the default first.
    let first = api.get("/markets?limit=1", None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["items"][0]["code"], "default");
    let cursor = first.body["next_cursor"].as_str().expect("more markets");
    let next = api
        .get(&format!("/markets?limit=100&cursor={cursor}"), None)
        .await;
    assert!(
        next.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["code"] == code.as_str()),
        "{}",
        next.text
    );

    api.send(Method::DELETE, "/markets/default", Some(&admin), None)
        .await
        .assert_problem(409, "INVALID_STATE");
    let deleted = api.send(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    api.get(&path, None).await.assert_problem(404, "NOT_FOUND");
    let freed = api
        .send(Method::PUT, &other, Some(&admin), Some(settings(&["AQ"], "EUR")))
        .await;
    assert_eq!(
        freed.status,
        StatusCode::CREATED,
        "AQ was given up: {}",
        freed.text
    );
    api.send(Method::DELETE, &other, Some(&admin), None).await;
}
