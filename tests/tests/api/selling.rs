//! Selling one product in three markets through the gateway: euros at an
//! explicit price, yen and Kuwaiti dinars by conversion (the yen rate from
//! the ECB's file, the dinar's set by hand: the ECB publishes none), each
//! order paid in the provider's units, one refunded after a rate change
//! that changes nothing of it.

use serde_json::{Value, json};
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Shop, unique};

/// Markets of their own (fixed codes: a deployed stack keeps them between
/// runs, and a country belongs to one market) in countries no other test
/// ships to.
const MARKETS: [(&str, &str, &str, &str); 4] = [
    ("e2e-eur", "MC", "EUR", "charm"),
    ("e2e-jpy", "JP", "JPY", "whole"),
    ("e2e-kwd", "KW", "KWD", "minor"),
    ("e2e-aed", "AE", "AED", "minor"),
];

/// An address in `country` by its rules (Monaco: 980xx; Japan: a
/// prefecture; Kuwait: five digits; the Emirates: an emirate, no code).
fn address(country: &str) -> Value {
    let (postal_code, region) = match country {
        "MC" => (Some("98000"), None),
        "JP" => (Some("100-0001"), Some("JP-13")),
        "KW" => (Some("13001"), None),
        "AE" => (None, Some("AE-DU")),
        other => panic!("no address in {other}"),
    };
    json!({"name": "Ann Smith", "line1": "1 Main St", "city": "Capital", "postal_code": postal_code,
           "region": region, "country": country})
}

async fn set_rates(shop: &Shop, rates: Value) -> Value {
    let reply = shop
        .api
        .send(
            Method::PUT,
            "/fx-rates",
            Some(&shop.admin),
            Some(json!({ "rates": rates })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

async fn order_in(shop: &Shop, product: &str, country: &str) -> Value {
    let reply = shop
        .api
        .post(
            "/orders",
            Some(&shop.customer.token),
            json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": address(country)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

#[tokio::test]
async fn one_product_sells_in_three_currencies_and_a_later_rate_changes_no_order() {
    let shop = Shop::new().await;
    let api = &shop.api;
    for (code, country, currency, rounding) in MARKETS {
        let settings = json!({
            "name": code, "countries": [country], "currency": currency, "tax_mode": "none",
            "tax_rounding": "line", "price_rounding": rounding, "duties": "dap", "shipping_methods": []
        });
        shop.admin_put(&format!("/markets/{code}"), settings).await;
    }

    // The ECB's rates, rebased to USD by the daily refresh: the local
    // gateway fired it when it started; a deployed stack's is fired here
    // (both read the stand-in for the ECB's file). A manual JPY rate, from
    // an earlier run against the same stack, is dropped first.
    if std::env::var("SHOP_SCHEDULED_FUNCTIONS").is_ok() {
        api.send(Method::DELETE, "/fx-rates/JPY", Some(&shop.admin), None)
            .await;
        api.run_schedules().await;
    }
    let rates = api.get("/fx-rates", Some(&shop.admin)).await;
    assert_eq!(rates.status, StatusCode::OK, "{}", rates.text);
    assert_eq!(rates.body["base"], "USD");
    let yen_rate = &rates.body["rates"]["JPY"];
    assert_eq!(yen_rate["source"], "ecb", "{}", rates.text);
    assert_eq!(yen_rate["rate"], "155.2860215054", "180.52 / 1.1625");
    set_rates(&shop, json!({"KWD": "0.30712"})).await;
    // AED has no rate (dropped if a fuzzing run left one).
    let dropped = api
        .send(Method::DELETE, "/fx-rates/AED", Some(&shop.admin), None)
        .await;
    assert!(matches!(dropped.status.as_u16(), 204 | 404), "{}", dropped.text);

    let created = api
        .send(
            Method::POST,
            "/products",
            Some(&shop.admin),
            Some(json!({
                "name": "Mug", "category": unique("abroad"), "price": 1250, "stock": 10,
                "prices": {"EUR": 1150}, "weight_grams": 350, "hs_code": "691200", "origin_country": "PT"
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let product = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (created.body["price"].as_i64(), created.body["currency"].as_str()),
        (Some(1250), Some("USD"))
    );
    assert_eq!(created.body["prices"], json!({"EUR": 1150}));

    // Priced in each market: explicit, converted (12.50 × 155.286… =
    // 1941.08 → ¥1,941; 12.50 × 0.30712 = 3.839 → 3.840 KWD), or not sold.
    for (country, price, currency) in [
        ("MC", json!(1150), "EUR"),
        ("JP", json!(1941), "JPY"),
        ("KW", json!(3840), "KWD"),
        ("AE", Value::Null, "AED"),
        ("US", json!(1250), "USD"),
    ] {
        let read = api
            .get(&format!("/products/{product}?country={country}"), None)
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(
            (&read.body["price"], read.body["currency"].as_str()),
            (&price, Some(currency)),
            "{country}"
        );
        assert_eq!(
            (
                read.body["base_price"].as_i64(),
                read.body["base_currency"].as_str()
            ),
            (Some(1250), Some("USD"))
        );
    }
    let category = created.body["category"].as_str().expect("category");
    for (country, listed) in [("JP", 1), ("AE", 0)] {
        let page = api
            .get(&format!("/products?category={category}&country={country}"), None)
            .await;
        assert_eq!(
            page.body["items"].as_array().map(Vec::len),
            Some(listed),
            "{country}: {}",
            page.text
        );
    }
    api.get("/products?country=jp", None)
        .await
        .assert_problem(400, "VALIDATION_FAILED");

    // Addresses by the country's rules, one validator for every endpoint:
    // 90001 is a Los Angeles code, not New York's.
    let misplaced = json!({"name": "Ann", "line1": "1 Main St", "city": "New York", "postal_code": "90001",
                           "region": "US-NY", "country": "US"});
    let order = api
        .post(
            "/orders",
            Some(&shop.customer.token),
            json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": misplaced}),
        )
        .await;
    order.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(order.error_fields(), ["shipping_address.postal_code"]);
    let profile = api
        .send(
            Method::PATCH,
            "/users/me",
            Some(&shop.customer.token),
            Some(json!({"address": {"name": "Ann", "line1": "1 Main St", "postal_code": "100-0001", "country": "JP"}})),
        )
        .await;
    profile.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(profile.error_fields(), ["address.region"]);

    let refused = api
        .post(
            "/orders",
            Some(&shop.customer.token),
            json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": address("AE")}),
        )
        .await;
    refused.assert_problem(409, "PRODUCT_UNAVAILABLE");
    assert_eq!(refused.body["reason"], "no_price");

    let euro = order_in(&shop, &product, "MC").await;
    let yen = order_in(&shop, &product, "JP").await;
    let dinar = order_in(&shop, &product, "KW").await;
    assert_eq!(
        (euro["currency"].as_str(), euro["total"].as_i64(), &euro["fx"]),
        (Some("EUR"), Some(1150), &Value::Null)
    );
    assert_eq!(
        (
            yen["currency"].as_str(),
            yen["total"].as_i64(),
            yen["market"].as_str()
        ),
        (Some("JPY"), Some(1941), Some("e2e-jpy"))
    );
    assert_eq!(yen["fx"]["rate"], "155.2860215054");
    assert_eq!(
        (yen["fx"]["from"].as_str(), yen["fx"]["to"].as_str()),
        (Some("USD"), Some("JPY"))
    );
    assert_eq!(
        (dinar["currency"].as_str(), dinar["total"].as_i64()),
        (Some("KWD"), Some(3840))
    );
    assert_eq!(
        (dinar["fx"]["rate"].as_str(), dinar["fx"]["source"].as_str()),
        (Some("0.30712"), Some("manual"))
    );

    // Each paid in the provider's units: yen as they are (1941, not
    // 194100), dinars in thousandths.
    for (order, units, currency) in [(&euro, 1150, "eur"), (&yen, 1941, "jpy"), (&dinar, 3840, "kwd")] {
        let id = order["id"].as_str().expect("id");
        let payment = shop.start_payment(id).await;
        assert_eq!(
            (&payment["amount"], &payment["currency"]),
            (&order["total"], &order["currency"])
        );
        shop.paid_units(id, &payment, units, currency).await.assert_ok();
        assert_ne!(shop.status(id).await, "PENDING_PAYMENT", "{currency}");
    }

    // The dinar's rate changes: new prices move, the order does not, nor
    // its payment or its refund.
    set_rates(&shop, json!({"KWD": "0.35"})).await;
    let repriced = api.get(&format!("/products/{product}?country=KW"), None).await;
    assert_eq!(repriced.body["price"], 4380, "12.50 × 0.35 = 4.375 → 4.380");
    let dinar_id = dinar["id"].as_str().expect("id");
    let refund = shop.act(dinar_id, "refund", &shop.admin).await;
    assert_eq!(refund.status, StatusCode::ACCEPTED, "{}", refund.text);
    shop.until(dinar_id, "REFUNDED").await;
    let after = api
        .get(&format!("/orders/{dinar_id}"), Some(&shop.customer.token))
        .await
        .body;
    for field in ["total", "currency", "fx", "items", "market"] {
        assert_eq!(after[field], dinar[field], "{field}");
    }
}
