//! Carts and checkout against the emulator: lines, address and method,
//! versions and `If-Match`, problems, concurrent writers that lose
//! nothing, and concurrent checkouts that place exactly one order.

use serde_json::json;
use shared::Error;
use shared::foundation::error::{NotShippable, Unavailable};
use shared::foundation::input::parse_document;
use shared::model::auth::Principal;
use shared::model::carts::{CartQuantity, CartView};
use shared::model::markets::MarketCode;
use shared::model::orders::OrderId;
use shared::model::products::Product;
use shared::usecases::{carts, markets};
use shop_tests::TestApp;
use shop_tests::fixtures::{address_in, admin, customer};

async fn uncached() -> TestApp {
    TestApp::spawn_with(&[("CONFIG_CACHE_SECONDS", "0")]).await
}

async fn euro_market(t: &TestApp) {
    markets::put_market(
        &t.app,
        &admin(),
        MarketCode::parse("eu".into()).expect("valid"),
        parse_document(json!({"name": "EU", "countries": ["DE"], "currency": "EUR", "tax_mode": "inclusive",
               "tax_rounding": "line", "price_rounding": "minor", "duties": "ddp",
               "shipping_methods": [{"code": "standard", "name": "Standard",
                   "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                   "free_over": 15000, "delivery_days": {"min": 2, "max": 4}},
                   {"code": "express", "name": "Express",
                   "rates": [{"max_weight_grams": 5000, "price": 1990}],
                   "free_over": null, "delivery_days": {"min": 1, "max": 1}}]}))
        .expect("valid"),
    )
    .await
    .expect("market set");
}

async fn product(t: &TestApp, fields: serde_json::Value) -> Product {
    let mut input = json!({"name": "Thing", "category": "carts", "price": 1000, "stock": 20});
    if let (Some(input), Some(fields)) = (input.as_object_mut(), fields.as_object()) {
        input.extend(fields.clone());
    }
    shared::usecases::products::create_product(&t.app, &admin(), parse_document(input).expect("valid"))
        .await
        .expect("created")
}

async fn put(t: &TestApp, who: &Principal, product: &Product, quantity: u32) -> Result<CartView, Error> {
    carts::put_item(&t.app, who, product.id.clone(), CartQuantity(quantity), None).await
}

async fn patch(
    t: &TestApp,
    who: &Principal,
    body: serde_json::Value,
    if_match: Option<u64>,
) -> Result<CartView, Error> {
    carts::patch_cart(&t.app, who, parse_document(body).expect("valid"), if_match).await
}

#[tokio::test]
async fn a_cart_follows_its_address_into_a_market_and_shows_what_would_stop_a_checkout() {
    let t = uncached().await;
    euro_market(&t).await;
    let buyer = customer();
    let empty = carts::get_cart(&t.app, &buyer)
        .await
        .expect("every customer has one");
    assert_eq!((empty.version, empty.items.len(), empty.total), (0, 0, 0));

    let mug = product(&t, json!({"prices": {"EUR": 1150}, "weight_grams": 600})).await;
    let usd_only = product(&t, json!({"weight_grams": 100})).await;
    put(&t, &buyer, &mug, 2).await.expect("added");
    let cart = put(&t, &buyer, &usd_only, 1).await.expect("added");
    // No address: the default market, in dollars, no shipping methods.
    assert_eq!(
        (cart.version, cart.currency.as_str(), cart.total),
        (2, "USD", 3_000)
    );

    // Germany: euros; the dollar-only product has no price there.
    let cart = patch(&t, &buyer, json!({"shipping_address": address_in("DE")}), None)
        .await
        .expect("moved");
    assert_eq!(
        (cart.version, cart.market.as_str(), cart.currency.as_str()),
        (3, "eu", "EUR")
    );
    let problem = serde_json::to_value(&cart.problems).expect("json");
    assert_eq!(
        problem,
        json!([{"code": "PRODUCT_UNAVAILABLE", "product_id": usd_only.id.to_string(), "reason": "no_price"}])
    );
    // 2 × €11.50 + the cheapest method for 1,200 g (€9.90), VAT inside.
    assert_eq!(
        (
            cart.totals.subtotal,
            cart.totals.shipping,
            cart.shipping_method.as_ref().map(|m| m.as_str()),
            cart.total
        ),
        (2_300, 990, Some("standard"), 3_290)
    );
    let options: Vec<(&str, i64)> = cart
        .shipping_options
        .iter()
        .map(|o| (o.code.as_str(), o.price))
        .collect();
    assert_eq!(options, [("standard", 990), ("express", 1_990)]);
    // Adding a product not sold here is refused; the line already there stays.
    assert!(matches!(
        put(&t, &buyer, &usd_only, 2).await,
        Err(Error::ProductUnavailable(_, Unavailable::NoPrice))
    ));

    // A method of the market is taken; one it does not have is 400, and a
    // code is unknown while no promotion exists: neither changes anything.
    let express = patch(&t, &buyer, json!({"shipping_method": "express"}), None)
        .await
        .expect("chosen");
    assert_eq!((express.totals.shipping, express.version), (1_990, 4));
    let Err(Error::Validation(errors)) =
        patch(&t, &buyer, json!({"shipping_method": "teleport"}), None).await
    else {
        panic!("an unknown method was taken")
    };
    assert_eq!(errors[0].field, "shipping_method");
    assert!(matches!(
        patch(&t, &buyer, json!({"coupon_codes": [" summer-10 "]}), None).await,
        Err(Error::CouponNotApplicable { ref coupon, reason: "unknown" }) if coupon == "SUMMER-10"
    ));
    // A stale If-Match changes nothing; the current one is taken.
    assert!(matches!(
        patch(&t, &buyer, json!({"shipping_method": null}), Some(3)).await,
        Err(Error::PreconditionFailed)
    ));
    let now = carts::get_cart(&t.app, &buyer).await.expect("read");
    assert_eq!((now.version, now.totals.shipping), (4, 1_990), "nothing changed");
    let cheapest = patch(&t, &buyer, json!({"shipping_method": null}), Some(4))
        .await
        .expect("taken");
    assert_eq!((cheapest.version, cheapest.totals.shipping), (5, 990));

    // Removing a line that is not there is 404; removing one is a write.
    carts::delete_item(&t.app, &buyer, usd_only.id.clone(), None)
        .await
        .expect("removed");
    assert!(matches!(
        carts::delete_item(&t.app, &buyer, usd_only.id.clone(), None).await,
        Err(Error::NotFound)
    ));
    // Above MAX_UNITS_PER_PRODUCT (10): QUANTITY_LIMIT.
    assert!(matches!(
        put(&t, &buyer, &mug, 11).await,
        Err(Error::QuantityLimit { max: 10, .. })
    ));
    // 6 kg, too heavy for every method: NOT_SHIPPABLE, shipping 0.
    let heavy = put(&t, &buyer, &mug, 10).await.expect("set");
    assert_eq!(
        serde_json::to_value(&heavy.problems).expect("json"),
        json!([{"code": "NOT_SHIPPABLE", "reason": "weight"}])
    );
    assert_eq!(heavy.totals.shipping, 0);
}

#[tokio::test]
async fn ten_concurrent_puts_of_ten_products_leave_ten_lines() {
    let t = uncached().await;
    let mut things = Vec::new();
    for _ in 0..10 {
        things.push(t.product("carts", 500, 5).await);
    }
    for round in 0..3 {
        let buyer = customer();
        let puts = things.iter().map(|p| put(&t, &buyer, p, 1));
        for result in futures::future::join_all(puts).await {
            result.expect("every write lands");
        }
        let cart = carts::get_cart(&t.app, &buyer).await.expect("read");
        assert_eq!((cart.items.len(), cart.version), (10, 10), "round {round}");
    }
}

#[tokio::test]
async fn a_cart_holds_at_most_fifty_lines() {
    let t = uncached().await;
    let buyer = customer();
    let mut last = None;
    for _ in 0..51 {
        let p = t.product("carts", 100, 1).await;
        last = Some(put(&t, &buyer, &p, 1).await);
    }
    assert!(matches!(last, Some(Err(Error::CartFull(50)))));
    assert_eq!(
        carts::get_cart(&t.app, &buyer).await.expect("read").items.len(),
        50
    );
}

#[tokio::test]
async fn checkout_charges_what_the_cart_showed_and_refuses_a_changed_total() {
    let t = uncached().await;
    euro_market(&t).await;
    let mug = product(&t, json!({"prices": {"EUR": 1150}, "weight_grams": 400})).await;
    let buyer = customer();
    assert!(matches!(
        carts::checkout(&t.app, &buyer, 0, OrderId::new()).await,
        Err(Error::CartEmpty)
    ));
    put(&t, &buyer, &mug, 2).await.expect("added");
    assert!(matches!(
        carts::checkout(&t.app, &buyer, 4_000, OrderId::new()).await,
        Err(Error::NotShippable(NotShippable::Address))
    ));
    let cart = patch(&t, &buyer, json!({"shipping_address": address_in("DE")}), None)
        .await
        .expect("set");
    let Err(Error::PriceChanged(repriced)) =
        carts::checkout(&t.app, &buyer, cart.total + 1, OrderId::new()).await
    else {
        panic!("a wrong expected total was charged")
    };
    assert_eq!(repriced["total"], cart.total);
    assert_eq!(t.stock(&mug).await, 20, "nothing held");

    let id = OrderId::new();
    let order = carts::checkout(&t.app, &buyer, cart.total, id.clone())
        .await
        .expect("placed");
    assert_eq!(
        (
            order.total.minor(),
            order.totals.shipping,
            order.totals.tax_total,
            order.currency.as_str()
        ),
        (cart.total, cart.totals.shipping, cart.totals.tax_total, "EUR")
    );
    assert_eq!(t.stock(&mug).await, 18);
    let after = carts::get_cart(&t.app, &buyer).await.expect("read");
    assert_eq!((after.items.len(), after.version), (0, cart.version + 1));
    assert!(after.shipping_address.is_some(), "the address stays for the next");
    // A retry under the same key finds the order it placed.
    let again = carts::checkout(&t.app, &buyer, cart.total, id)
        .await
        .expect("the same order");
    assert_eq!(again.id, order.id);

    // The same lines as POST /orders: the same figures.
    let other = customer();
    let direct = t
        .order_to(&other, &[(&mug, 2)], address_in("DE"))
        .await
        .expect("placed");
    assert_eq!(
        (direct.totals.clone(), direct.total),
        (order.totals.clone(), order.total)
    );
}

#[tokio::test]
async fn of_ten_concurrent_checkouts_of_one_cart_exactly_one_places_an_order() {
    let t = uncached().await;
    let lamp = t.product("carts", 2_500, 1_000).await;
    for round in 0..4 {
        let buyer = customer();
        put(&t, &buyer, &lamp, 2).await.expect("added");
        let cart = patch(&t, &buyer, json!({"shipping_address": address_in("US")}), None)
            .await
            .expect("set");
        let attempts = (0..10).map(|_| carts::checkout(&t.app, &buyer, cart.total, OrderId::new()));
        let results = futures::future::join_all(attempts).await;
        let placed = results.iter().filter(|r| r.is_ok()).count();
        let empty = results
            .iter()
            .filter(|r| matches!(r, Err(Error::CartEmpty)))
            .count();
        assert_eq!((placed, empty), (1, 9), "round {round}: {results:?}");
        assert_eq!(t.stock(&lamp).await, 1_000 - 2 * (round + 1), "round {round}");
    }
}
