//! Promotions against the emulator: admins' CRUD and `used`, coupons on
//! carts with their reasons, and the limits under concurrency: redemption
//! in the order's own transaction, uses given back exactly once.

use futures::future::join_all;
use serde_json::{Value, json};
use shared::Error;
use shared::foundation::clock::Timestamp;
use shared::foundation::ids::PromotionId;
use shared::foundation::input::parse_document;
use shared::model::auth::Principal;
use shared::model::carts::{CartQuantity, CartView};
use shared::model::orders::{NewOrder, Order, OrderId, OrderStatus};
use shared::model::products::Product;
use shared::model::promotions::input::PromotionView;
use shared::usecases::{carts, orders, promotions};
use shop_tests::fixtures::{address, admin, customer};
use shop_tests::{TestApp, race_rounds};

/// Configuration read fresh on every request (promotions are created
/// mid-test), and room for many unpaid orders per customer.
async fn app() -> TestApp {
    TestApp::spawn_with(&[("CONFIG_CACHE_SECONDS", "0"), ("MAX_UNPAID_ORDERS", "20")]).await
}

async fn create(t: &TestApp, body: Value) -> Result<PromotionView, Error> {
    promotions::create(&t.app, &admin(), parse_document(body).expect("valid")).await
}

/// A fixed discount of `amount` cents, `limit` uses, one per customer.
async fn once_each(t: &TestApp, code: &str, amount: i64, limit: u32) -> PromotionView {
    create(
        t,
        json!({"name": code, "code": code, "kind": "fixed", "amounts": {"USD": amount},
               "usage_limit": limit, "per_customer_limit": 1}),
    )
    .await
    .expect("created")
}

async fn used(t: &TestApp, p: &PromotionView) -> i64 {
    let id = PromotionId::parse(&p.promotion.id).expect("an id");
    promotions::get(&t.app, &admin(), &id).await.expect("read").used
}

async fn product(t: &TestApp, price: i64, stock: i64) -> Product {
    shared::usecases::products::create_product(
        &t.app,
        &admin(),
        parse_document(json!({"name": "Thing", "category": "promo", "price": price, "stock": stock}))
            .expect("valid"),
    )
    .await
    .expect("created")
}

async fn patch(t: &TestApp, who: &Principal, body: Value) -> Result<CartView, Error> {
    carts::patch_cart(&t.app, who, parse_document(body).expect("valid"), None).await
}

/// A cart of `quantity` × `product`, shipped to the default market,
/// holding `codes`.
async fn cart(t: &TestApp, who: &Principal, product: &Product, codes: &[&str]) -> CartView {
    carts::put_item(&t.app, who, product.id.clone(), CartQuantity(1), None)
        .await
        .expect("added");
    patch(
        t,
        who,
        json!({"shipping_address": address(), "coupon_codes": codes}),
    )
    .await
    .expect("codes apply")
}

fn order_with(
    t: &TestApp,
    who: &Principal,
    product: &Product,
    codes: &[&str],
) -> impl std::future::Future<Output = Result<Order, Error>> + use<> {
    let input: NewOrder = parse_document(json!({
        "items": [{"product_id": product.id.to_string(), "quantity": 1}],
        "shipping_address": address(), "coupon_codes": codes
    }))
    .expect("valid");
    let app = t.app.clone();
    let who = who.clone();
    async move { orders::place_order(&app, &who, input, OrderId::new()).await }
}

#[tokio::test]
async fn admins_create_list_read_and_change_promotions_and_codes_stay_unique() {
    let t = app().await;
    let made = create(
        &t,
        json!({"name": "Ten off", "code": " welcome-10 ", "kind": "percent", "percent": "10",
               "usage_limit": 60, "per_customer_limit": 1}),
    )
    .await
    .expect("created");
    let p = &made.promotion;
    assert_eq!(
        (p.code.as_deref(), p.active, p.combinable, made.used, p.counters),
        (Some("WELCOME-10"), true, false, 0, 3),
        "normalised, defaults, one counter per 25 uses"
    );
    assert!(matches!(
        create(&t, json!({"name": "Again", "code": "Welcome-10", "kind": "free_shipping"})).await,
        Err(Error::CodeTaken(code)) if code == "WELCOME-10"
    ));
    create(&t, json!({"name": "Automatic", "kind": "free_shipping"}))
        .await
        .expect("no code, no claim");
    let listed = promotions::list(&t.app, &admin(), 1, None).await.expect("listed");
    let cursor = listed.next_cursor.clone().expect("two promotions");
    let rest = promotions::list(&t.app, &admin(), 1, Some(&cursor))
        .await
        .expect("listed");
    let names: Vec<&str> = listed
        .items
        .iter()
        .chain(&rest.items)
        .map(|v| v.promotion.name.as_str())
        .collect();
    assert_eq!((names, rest.next_cursor), (vec!["Ten off", "Automatic"], None));

    // Two orders use it; the limit cannot go below that.
    let thing = product(&t, 1_000, 50).await;
    for _ in 0..2 {
        order_with(&t, &customer(), &thing, &["welcome-10"])
            .await
            .expect("placed");
    }
    assert_eq!(used(&t, &made).await, 2);
    let id = PromotionId::parse(&p.id).expect("an id");
    let boss = admin();
    let patch_with =
        |body: Value| promotions::patch(&t.app, &boss, &id, parse_document(body).expect("valid"));
    let Err(Error::Validation(errors)) = patch_with(json!({"usage_limit": 1})).await else {
        panic!("a limit below used was taken")
    };
    assert_eq!(errors[0].field, "usage_limit");
    let changed = patch_with(json!({"usage_limit": 2, "name": "Ten off, closed"}))
        .await
        .expect("down to used");
    assert_eq!((changed.used, changed.promotion.usage_limit), (2, Some(2)));
    assert!(matches!(
        order_with(&t, &customer(), &thing, &["WELCOME-10"]).await,
        Err(Error::CouponNotApplicable {
            reason: "exhausted",
            ..
        })
    ));
    let reopened = patch_with(json!({"usage_limit": 1000})).await.expect("raised");
    assert_eq!((reopened.promotion.counters, reopened.used), (16, 2));
    order_with(&t, &customer(), &thing, &["WELCOME-10"])
        .await
        .expect("room again");
    assert_eq!(used(&t, &made).await, 3);
    let off = patch_with(json!({"active": false})).await.expect("deactivated");
    assert!(!off.promotion.active);
    assert!(matches!(
        order_with(&t, &customer(), &thing, &["WELCOME-10"]).await,
        Err(Error::CouponNotApplicable {
            reason: "inactive",
            ..
        })
    ));
}

#[tokio::test]
async fn a_cart_takes_codes_that_apply_and_names_each_refusal() {
    let t = app().await;
    let thing = product(&t, 2_000, 50).await;
    let now = Timestamp::now();
    create(
        &t,
        json!({"name": "Min", "code": "BIG", "kind": "fixed", "amounts": {"USD": 500},
                      "min_subtotal": {"USD": 5000}}),
    )
    .await
    .expect("created");
    create(
        &t,
        json!({"name": "Later", "code": "LATER", "kind": "free_shipping",
                      "starts_at": now.plus_secs(3600).to_string()}),
    )
    .await
    .expect("created");
    create(
        &t,
        json!({"name": "Euro", "code": "EURO", "kind": "fixed", "amounts": {"EUR": 500}}),
    )
    .await
    .expect("created");
    create(
        &t,
        json!({"name": "Solo A", "code": "SOLO-A", "kind": "percent", "percent": "5"}),
    )
    .await
    .expect("created");
    create(
        &t,
        json!({"name": "Solo B", "code": "SOLO-B", "kind": "percent", "percent": "7"}),
    )
    .await
    .expect("created");
    let buyer = customer();
    carts::put_item(&t.app, &buyer, thing.id.clone(), CartQuantity(1), None)
        .await
        .expect("added");
    for (codes, coupon, reason) in [
        (json!(["nope"]), "NOPE", "unknown"),
        (json!(["big"]), "BIG", "min_subtotal"),
        (json!(["later"]), "LATER", "not_started"),
        (json!(["euro"]), "EURO", "currency"),
        (json!(["solo-a", "solo-b"]), "SOLO-B", "not_combinable"),
    ] {
        match patch(&t, &buyer, json!({"coupon_codes": codes})).await {
            Err(Error::CouponNotApplicable { coupon: c, reason: r }) => {
                assert_eq!((c.as_str(), r), (coupon, reason));
            }
            other => panic!("{codes}: {other:?}"),
        }
    }
    let unchanged = carts::get_cart(&t.app, &buyer).await.expect("read");
    assert_eq!(
        (unchanged.version, unchanged.coupon_codes.len()),
        (1, 0),
        "nothing written"
    );

    // A code that applies gives its discount; one that stops applying (the
    // cart fell below its minimum) stays, gives none, and is a problem.
    carts::put_item(&t.app, &buyer, thing.id.clone(), CartQuantity(3), None)
        .await
        .expect("more");
    let big = patch(&t, &buyer, json!({"coupon_codes": ["big"]}))
        .await
        .expect("applies");
    assert_eq!((big.totals.discount_total, big.total), (500, 5_500));
    assert_eq!(big.discounts[0].code.as_deref(), Some("BIG"));
    let small = carts::put_item(&t.app, &buyer, thing.id.clone(), CartQuantity(1), None)
        .await
        .expect("fewer");
    assert_eq!(
        (small.coupon_codes.clone(), small.total),
        (vec!["BIG".to_owned()], 2_000)
    );
    assert_eq!(
        serde_json::to_value(&small.problems).expect("json"),
        json!([{"code": "COUPON_NOT_APPLICABLE", "coupon": "BIG", "reason": "min_subtotal"}])
    );
    patch(&t, &buyer, json!({"shipping_address": address()}))
        .await
        .expect("address");
    assert!(matches!(
        carts::checkout(&t.app, &buyer, 2_000, OrderId::new()).await,
        Err(Error::CouponNotApplicable {
            reason: "min_subtotal",
            ..
        })
    ));
}

#[tokio::test]
async fn twenty_concurrent_applications_of_one_code_leave_one_discount() {
    let t = app().await;
    let thing = product(&t, 3_000, 50).await;
    create(
        &t,
        json!({"name": "Five", "code": "FIVE", "kind": "fixed", "amounts": {"USD": 500},
                      "combinable": true}),
    )
    .await
    .expect("created");
    let buyer = customer();
    carts::put_item(&t.app, &buyer, thing.id.clone(), CartQuantity(1), None)
        .await
        .expect("added");
    let applied = join_all((0..20).map(|i| {
        let code = if i % 2 == 0 { " five " } else { "FIVE" };
        patch(&t, &buyer, json!({"coupon_codes": [code]}))
    }))
    .await;
    assert!(applied.iter().all(Result::is_ok), "{applied:?}");
    let cart = carts::get_cart(&t.app, &buyer).await.expect("read");
    assert_eq!(
        (
            cart.coupon_codes.clone(),
            cart.discounts.len(),
            cart.totals.discount_total,
            cart.total
        ),
        (vec!["FIVE".to_owned()], 1, 500, 2_500)
    );
}

#[tokio::test]
async fn a_hundred_checkouts_against_a_limit_of_fifty_place_exactly_fifty() {
    let t = app().await;
    let thing = product(&t, 1_000, 1_000).await;
    for round in 0..race_rounds().min(3) {
        let code = format!("RACE-{round}");
        let promotion = create(
            &t,
            json!({"name": "Race", "code": code, "kind": "fixed", "amounts": {"USD": 100},
                   "usage_limit": 50}),
        )
        .await
        .expect("created");
        let buyers: Vec<Principal> = (0..100).map(|_| customer()).collect();
        let codes = [code.as_str()];
        let carts = join_all(buyers.iter().map(|b| cart(&t, b, &thing, &codes))).await;
        assert!(carts.iter().all(|c| c.total == 900));
        let results = join_all(
            buyers
                .iter()
                .map(|b| carts::checkout(&t.app, b, 900, OrderId::new())),
        )
        .await;
        let placed: Vec<&Order> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let exhausted = results
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Err(Error::CouponNotApplicable {
                        reason: "exhausted",
                        ..
                    })
                )
            })
            .count();
        assert_eq!((placed.len(), exhausted), (50, 50), "round {round}: {results:?}");
        assert!(
            placed
                .iter()
                .all(|o| o.total.minor() == 900 && o.discounts.len() == 1)
        );
        assert_eq!(used(&t, &promotion).await, 50);
    }
}

#[tokio::test]
async fn ten_orders_at_once_by_one_customer_against_a_limit_of_one_place_one() {
    let t = app().await;
    let thing = product(&t, 1_000, 1_000).await;
    for round in 0..race_rounds().min(3) {
        let code = format!("ONCE-{round}");
        let promotion = create(
            &t,
            json!({"name": "Once", "code": code, "kind": "percent", "percent": "50",
                   "per_customer_limit": 1}),
        )
        .await
        .expect("created");
        let buyer = customer();
        let codes = [code.as_str()];
        let results = join_all((0..10).map(|_| order_with(&t, &buyer, &thing, &codes))).await;
        let placed = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Err(Error::CouponNotApplicable {
                        reason: "customer_limit",
                        ..
                    })
                )
            })
            .count();
        assert_eq!((placed, refused), (1, 9), "round {round}: {results:?}");
        assert_eq!(used(&t, &promotion).await, 1);
        // Another customer still may.
        order_with(&t, &customer(), &thing, &[code.as_str()])
            .await
            .expect("another customer");
    }
}

#[tokio::test]
async fn cancellation_and_expiry_give_a_use_back_exactly_once() {
    let t = app().await;
    let thing = product(&t, 1_000, 100).await;
    let promotion = once_each(&t, "SINGLE", 200, 1).await;
    let buyer = customer();
    let first = order_with(&t, &buyer, &thing, &["SINGLE"]).await.expect("placed");
    assert_eq!((first.total.minor(), used(&t, &promotion).await), (800, 1));
    assert!(matches!(
        order_with(&t, &customer(), &thing, &["SINGLE"]).await,
        Err(Error::CouponNotApplicable {
            reason: "exhausted",
            ..
        })
    ));

    // A cancel racing a retried cancel and the expiry: one release.
    let later = Timestamp::now().plus_secs(7_200);
    let (a, b, c) = tokio::join!(
        orders::cancel_order(&t.app, &buyer, &first.id),
        orders::cancel_order(&t.app, &buyer, &first.id),
        orders::expire_orders(&t.app, later)
    );
    let cancels = [&a, &b].iter().filter(|r| r.is_ok()).count();
    let expired = c.expect("swept").expired;
    assert_eq!(cancels + expired, 1, "{a:?} {b:?}");
    assert_eq!(used(&t, &promotion).await, 0, "given back once");
    assert!(matches!(
        orders::cancel_order(&t.app, &buyer, &first.id).await,
        Err(Error::InvalidState(OrderStatus::Cancelled))
    ));
    assert_eq!(used(&t, &promotion).await, 0);

    // The use and the customer's count are back: the same customer again.
    order_with(&t, &buyer, &thing, &["SINGLE"])
        .await
        .expect("placed again");
    assert_eq!(used(&t, &promotion).await, 1);
}

#[tokio::test]
async fn a_refund_keeps_the_use() {
    let t = app().await;
    let thing = product(&t, 1_000, 100).await;
    let promotion = once_each(&t, "KEPT", 100, 5).await;
    let buyer = customer();
    let order = order_with(&t, &buyer, &thing, &["KEPT"]).await.expect("placed");
    t.pay(&buyer, &order).await;
    shared::usecases::refunds::refund_order(&t.app, &buyer, &order.id)
        .await
        .expect("accepted");
    let response = t
        .deliver("refunds", shared::usecases::refunds::handle_message)
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.status(&order).await, OrderStatus::Refunded);
    assert_eq!(used(&t, &promotion).await, 1, "a refund gives no use back");
    assert!(matches!(
        order_with(&t, &buyer, &thing, &["KEPT"]).await,
        Err(Error::CouponNotApplicable {
            reason: "customer_limit",
            ..
        })
    ));
}
