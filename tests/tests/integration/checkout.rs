//! Tax rates, duty rules and shipping methods against the emulator: set
//! and listed by admins, then applied to orders exactly as the pricing
//! engine's vectors say (`shared::model::quote`'s tests hold the same
//! figures, worked by hand).

use serde_json::json;
use shared::Error;
use shared::foundation::error::NotShippable;
use shared::foundation::input::parse_document;
use shared::model::markets::MarketCode;
use shared::model::products::Product;
use shared::model::users::CountryCode;
use shared::usecases::{markets, products, tax};
use shop_tests::TestApp;
use shop_tests::fixtures::{address_in, admin, customer};

fn country(code: &str) -> CountryCode {
    CountryCode::strict(code.into()).expect("valid")
}

async fn market(t: &TestApp, code: &str, settings: serde_json::Value) {
    markets::put_market(
        &t.app,
        &admin(),
        MarketCode::parse(code.into()).expect("valid"),
        parse_document(settings).expect("valid"),
    )
    .await
    .expect("market set");
}

async fn product(t: &TestApp, fields: serde_json::Value) -> Product {
    let mut input = json!({"name": "Thing", "category": "checkout", "price": 1000, "stock": 20});
    if let (Some(input), Some(fields)) = (input.as_object_mut(), fields.as_object()) {
        input.extend(fields.clone());
    }
    products::create_product(&t.app, &admin(), parse_document(input).expect("valid"))
        .await
        .expect("created")
}

/// Germany in an inclusive, DDP euro market with one weight-banded method.
async fn euro_market(t: &TestApp) {
    market(
        t,
        "eu",
        json!({"name": "EU", "countries": ["DE"], "currency": "EUR", "tax_mode": "inclusive",
               "tax_rounding": "line", "price_rounding": "minor", "duties": "ddp",
               "shipping_methods": [{"code": "standard", "name": "Standard",
                   "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                   "free_over": 15000, "delivery_days": {"min": 2, "max": 4}}]}),
    )
    .await;
}

#[tokio::test]
async fn tax_rates_list_the_defaults_and_an_admins_entry_replaces_a_countrys() {
    let t = TestApp::spawn().await;
    let first = tax::list_tax_rates(&t.app, &admin(), 20, None)
        .await
        .expect("listed");
    let cursor = first.next_cursor.clone().expect("34 countries: a second page");
    let second = tax::list_tax_rates(&t.app, &admin(), 20, Some(&cursor))
        .await
        .expect("listed");
    let all: Vec<_> = first.items.iter().chain(&second.items).collect();
    assert_eq!((all.len(), second.next_cursor.clone()), (34, None));
    let germany = all.iter().find(|r| r.country.as_str() == "DE").expect("listed");
    assert_eq!(
        serde_json::to_value(&germany.settings.rates).expect("json"),
        json!({"reduced": "7", "standard": "19"})
    );

    let quebec_only =
        parse_document(json!({"rates": {"standard": "5"}, "subdivisions": {"CA-QC": {"standard": "15"}}}))
            .expect("valid");
    let set = tax::put_tax_rates(&t.app, &admin(), country("CA"), quebec_only)
        .await
        .expect("set");
    assert_eq!(set.settings.subdivisions.len(), 1);
    let listed = tax::list_tax_rates(&t.app, &admin(), 100, None)
        .await
        .expect("listed");
    let canada = listed
        .items
        .iter()
        .find(|r| r.country.as_str() == "CA")
        .expect("listed");
    assert_eq!(
        (canada.settings.subdivisions.len(), canada.updated_at),
        (1, set.updated_at),
        "replaced whole"
    );
    assert_eq!(listed.items.len(), 34);

    let elsewhere =
        parse_document(json!({"rates": {"standard": "5"}, "subdivisions": {"US-NY": {"standard": "8"}}}))
            .expect("valid");
    let Err(Error::Validation(errors)) = tax::put_tax_rates(&t.app, &admin(), country("CA"), elsewhere).await
    else {
        panic!("a region of another country was taken")
    };
    assert_eq!(errors[0].field, "subdivisions");
}

#[tokio::test]
async fn a_duty_rules_threshold_is_in_the_currency_of_the_countrys_market() {
    let t = TestApp::spawn().await;
    let rule = || {
        parse_document(json!({"threshold": {"amount": 15000, "currency": "EUR"}, "default_rate": "4", "chapters": {"61": "12"}}))
            .expect("valid")
    };
    let Err(Error::Validation(errors)) = tax::put_duty_rates(&t.app, &admin(), country("DE"), rule()).await
    else {
        panic!("Germany is in the default market, in USD")
    };
    assert_eq!(errors[0].field, "threshold.currency");
    euro_market(&t).await;
    tax::put_duty_rates(&t.app, &admin(), country("DE"), rule())
        .await
        .expect("set");
    let listed = tax::list_duty_rates(&t.app, &admin(), 20, None)
        .await
        .expect("listed");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(
        serde_json::to_value(&listed.items[0]).expect("json")["chapters"],
        json!({"61": "12"})
    );
}

/// An app that reads the configuration on every request (the default keeps
/// it a minute).
async fn uncached() -> TestApp {
    TestApp::spawn_with(&[("CONFIG_CACHE_SECONDS", "0")]).await
}

#[tokio::test]
async fn orders_charge_shipping_tax_and_duty_exactly_as_the_engine_prices_them() {
    let t = uncached().await;
    euro_market(&t).await;
    tax::put_duty_rates(
        &t.app,
        &admin(),
        country("DE"),
        parse_document(json!({"threshold": {"amount": 5000, "currency": "EUR"}, "default_rate": "4", "chapters": {"61": "12"}}))
            .expect("valid"),
    )
    .await
    .expect("set");
    let shirt = product(
        &t,
        json!({"prices": {"EUR": 4999}, "weight_grams": 300, "hs_code": "610910", "origin_country": "CN"}),
    )
    .await;
    let book = product(
        &t,
        json!({"prices": {"EUR": 1200}, "weight_grams": 500, "tax_category": "reduced", "origin_country": "DE"}),
    )
    .await;
    let buyer = customer();
    let order = t
        .order_to(&buyer, &[(&shirt, 2), (&book, 1)], address_in("DE"))
        .await
        .expect("placed");
    let lines: Vec<(i64, i64, i64, i64)> = order
        .items
        .iter()
        .map(|l| (l.amount, l.net, l.tax, l.duty))
        .collect();
    assert_eq!(lines, [(9_998, 8_402, 1_596, 1_008), (1_200, 1_121, 79, 0)]);
    assert_eq!(
        (
            order.totals.subtotal,
            order.totals.shipping,
            order.totals.tax_total,
            order.totals.duties,
            order.total.minor()
        ),
        (11_198, 990, 1_833, 1_008, 13_196)
    );
    assert_eq!(
        order.shipping_method.as_ref().map(|m| m.as_str()),
        Some("standard")
    );
    let stored = t
        .app
        .store
        .get_order(&order.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.totals, order.totals, "kept as priced");

    // Quebec, exclusive, one rounding per order, duty announced (DAP).
    market(
        &t,
        "ca",
        json!({"name": "Canada", "countries": ["CA"], "currency": "CAD", "tax_mode": "exclusive",
               "tax_rounding": "order", "price_rounding": "minor", "duties": "dap",
               "shipping_methods": [{"code": "express", "name": "Express",
                   "rates": [{"max_weight_grams": 2000, "price": 1500}], "free_over": null,
                   "delivery_days": {"min": 1, "max": 2}}]}),
    )
    .await;
    tax::put_duty_rates(
        &t.app,
        &admin(),
        country("CA"),
        parse_document(json!({"threshold": {"amount": 2000, "currency": "CAD"}, "default_rate": "5"}))
            .expect("valid"),
    )
    .await
    .expect("set");
    let cap = product(&t, json!({"prices": {"CAD": 1999}, "weight_grams": 100})).await;
    let pin = product(&t, json!({"prices": {"CAD": 525}, "weight_grams": 100})).await;
    let order = t
        .order_to(&buyer, &[(&cap, 3), (&pin, 1)], address_in("CA"))
        .await
        .expect("placed");
    let taxes: Vec<(i64, i64)> = order.items.iter().map(|l| (l.tax, l.duty)).collect();
    assert_eq!(taxes, [(898, 300), (79, 26)]);
    assert_eq!(
        (
            order.totals.tax_total,
            order.totals.duties,
            order.totals.duties_due_on_delivery,
            order.total.minor()
        ),
        (1_202, 326, true, 9_224)
    );
}

#[tokio::test]
async fn an_order_no_method_takes_or_naming_an_unknown_one_is_refused_and_holds_nothing() {
    let t = TestApp::spawn().await;
    euro_market(&t).await;
    let anvil = product(&t, json!({"prices": {"EUR": 9000}, "weight_grams": 6000})).await;
    let buyer = customer();
    assert!(matches!(
        t.order_to(&buyer, &[(&anvil, 1)], address_in("DE")).await,
        Err(Error::NotShippable(NotShippable::Weight))
    ));
    assert_eq!(t.stock(&anvil).await, 20, "nothing held");
    let feather = product(&t, json!({"prices": {"EUR": 9000}, "weight_grams": 10})).await;
    let input = parse_document(json!({
        "items": [{"product_id": feather.id.to_string(), "quantity": 1}],
        "shipping_address": address_in("DE"), "shipping_method": "teleport"
    }))
    .expect("valid");
    let refused =
        shared::usecases::orders::place_order(&t.app, &buyer, input, shared::model::orders::OrderId::new())
            .await;
    let Err(Error::Validation(errors)) = refused else {
        panic!("an unknown method was taken")
    };
    assert_eq!(errors[0].field, "shipping_method");
    let input = parse_document(json!({
        "items": [{"product_id": feather.id.to_string(), "quantity": 1}],
        "shipping_address": address_in("DE"), "coupon_codes": [" welcome-10 "]
    }))
    .expect("valid");
    let refused =
        shared::usecases::orders::place_order(&t.app, &buyer, input, shared::model::orders::OrderId::new())
            .await;
    assert!(
        matches!(refused, Err(Error::CouponNotApplicable { ref coupon, reason: "unknown" }) if coupon == "WELCOME-10"),
        "no promotion exists yet: {refused:?}"
    );
    assert_eq!(t.stock(&feather).await, 20);
}
