//! Catalogue and orders against the emulator: stock never oversold, failed
//! orders reserve nothing, stock released exactly once, cursors that stay in
//! their listing, idempotency records.

use serde_json::json;
use shared::Error;
use shared::foundation::clock::Timestamp;
use shared::foundation::input::parse_document;
use shared::model::idempotency::{Claim, LOCK_SECS, StoredResponse};
use shared::model::orders::{NewOrder, OrderId, OrderStatus};
use shared::model::products::{NewProduct, Product};
use shared::usecases::orders;
use shared::usecases::products;
use shop_tests::fixtures::{admin, customer};
use shop_tests::{TestApp, race_rounds};

#[tokio::test]
async fn fifty_concurrent_orders_never_oversell_ten() {
    let t = TestApp::spawn().await;
    for round in 0..race_rounds() {
        let product = t.product("mugs", 1_000, 10).await;
        let buyers: Vec<_> = (0..50).map(|_| customer()).collect();
        let attempts = buyers.iter().map(|buyer| t.order(buyer, &[(&product, 1)]));
        let results = futures::future::join_all(attempts).await;
        let placed = results.iter().filter(|r| r.is_ok()).count();
        let short = results
            .iter()
            .filter(|r| matches!(r, Err(Error::OutOfStock(_))))
            .count();
        let other: Vec<_> = results
            .iter()
            .filter(|r| !matches!(r, Ok(_) | Err(Error::OutOfStock(_))))
            .collect();
        assert_eq!(
            placed, 10,
            "round {round}: {placed} placed, {short} short, {other:?}"
        );
        assert_eq!(short, 40, "round {round}: every other attempt is OUT_OF_STOCK");
        assert_eq!(t.stock(&product).await, 0, "round {round}");
    }
}

#[tokio::test]
async fn concurrent_multi_unit_orders_and_restocks_stay_consistent() {
    let t = TestApp::spawn().await;
    let product = t.product("pens", 500, 7).await;
    let buyers: Vec<_> = (0..12).map(|_| customer()).collect();
    let orders = futures::future::join_all(buyers.iter().map(|b| t.order(b, &[(&product, 2)])));
    let admin = admin();
    let restock = products::update_product(
        &t.app,
        &admin,
        &product.id,
        parse_document(json!({"stock_delta": 4})).expect("valid"),
        None,
    );
    let (results, restocked) = tokio::join!(orders, restock);
    restocked.expect("restocked");
    let sold: i64 = results.iter().filter(|r| r.is_ok()).count() as i64 * 2;
    let stock = t.stock(&product).await;
    assert!(stock >= 0, "never negative");
    assert_eq!(sold + stock, 11, "7 + 4 units: each one either sold or in stock");
}

#[tokio::test]
async fn prices_come_from_the_catalogue() {
    let t = TestApp::spawn().await;
    let a = t.product("books", 1_250, 5).await;
    let b = t.product("books", 999, 5).await;
    let order = t.order(&customer(), &[(&a, 2), (&b, 3)]).await.expect("placed");
    assert_eq!(order.status, OrderStatus::PendingPayment);
    assert_eq!(order.total.minor(), 2 * 1_250 + 3 * 999);
    assert_eq!(order.items[0].unit_price.minor(), 1_250);
    assert_eq!(order.items[1].line_total.minor(), 2_997);
    assert_eq!(order.currency.as_str(), "USD");
    let expires = order.expires_at.expect("unpaid orders expire");
    assert_eq!(
        expires.unix() - order.created_at.unix(),
        t.app.config.order_ttl_secs
    );
    assert_eq!(t.stock(&a).await, 3);
    assert_eq!(t.stock(&b).await, 2);
}

#[tokio::test]
async fn a_short_line_fails_the_whole_order_and_reserves_nothing() {
    let t = TestApp::spawn().await;
    let plenty = t.product("tea", 300, 50).await;
    let scarce = t.product("tea", 300, 2).await;
    let also_scarce = t.product("tea", 300, 0).await;
    let buyer = customer();
    let result = t
        .order(&buyer, &[(&plenty, 5), (&scarce, 3), (&also_scarce, 1)])
        .await;
    let Err(Error::OutOfStock(short)) = result else {
        panic!("expected OUT_OF_STOCK, got {result:?}")
    };
    let named: Vec<_> = short
        .iter()
        .map(|s| (&s.product_id, s.requested, s.available))
        .collect();
    assert_eq!(named, [(&scarce.id, 3, 2), (&also_scarce.id, 1, 0)]);
    assert_eq!(t.stock(&plenty).await, 50, "nothing reserved");
    assert_eq!(t.stock(&scarce).await, 2);
    let listed = orders::list_orders(&t.app, &buyer, 10, None).await.expect("list");
    assert!(listed.items.is_empty(), "no order written");
}

#[tokio::test]
async fn deleted_products_are_unavailable_but_orders_keep_their_lines() {
    let t = TestApp::spawn().await;
    let product = t.product("lamps", 4_000, 5).await;
    let buyer = customer();
    let earlier = t.order(&buyer, &[(&product, 1)]).await.expect("placed");
    products::delete_product(&t.app, &admin(), &product.id)
        .await
        .expect("deleted");

    assert!(matches!(
        products::get_product(&t.app, &product.id, None).await,
        Err(Error::NotFound)
    ));
    let listed = products::list_products(&t.app, None, None, 100, None)
        .await
        .expect("list");
    assert!(
        listed.items.iter().all(|p| p.id != product.id),
        "gone from the list"
    );
    let by_category = products::list_products(&t.app, Some(&product.category), None, 100, None)
        .await
        .expect("list");
    assert!(by_category.items.is_empty());
    let again = t.order(&buyer, &[(&product, 1)]).await;
    assert!(
        matches!(again, Err(Error::ProductUnavailable(ref id, _)) if *id == product.id),
        "{again:?}"
    );
    assert!(matches!(
        products::delete_product(&t.app, &admin(), &product.id).await,
        Err(Error::NotFound)
    ));

    let kept = orders::get_order(&t.app, &buyer, &earlier.id)
        .await
        .expect("still there");
    assert_eq!(kept.items, earlier.items);
    // Cancelling it still gives the unit back to the (deleted) product.
    orders::cancel_order(&t.app, &buyer, &earlier.id)
        .await
        .expect("cancelled");
}

#[tokio::test]
async fn stock_deltas_are_atomic_and_never_go_below_zero() {
    let t = TestApp::spawn().await;
    let product = t.product("chairs", 9_900, 3).await;
    let patch = |delta: i64| parse_document(json!({"stock_delta": delta})).expect("valid");
    let result = products::update_product(&t.app, &admin(), &product.id, patch(-4), None).await;
    let Err(Error::OutOfStock(short)) = result else {
        panic!("expected OUT_OF_STOCK, got {result:?}")
    };
    assert_eq!((short[0].requested, short[0].available), (4, 3));
    assert_eq!(t.stock(&product).await, 3, "unchanged");
    let updated = products::update_product(&t.app, &admin(), &product.id, patch(-3), None)
        .await
        .expect("write-off");
    assert_eq!(updated.stock, 0);
    let renamed = products::update_product(
        &t.app,
        &admin(),
        &product.id,
        parse_document(json!({"name": "Chair", "category": "seating", "price": 8_800, "stock_delta": 5}))
            .expect("valid"),
        None,
    )
    .await
    .expect("updated");
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.category.as_str(),
            renamed.price.map(|p| p.minor()),
            renamed.stock
        ),
        ("Chair", "seating", Some(8_800), 5)
    );
    let moved = products::list_products(&t.app, Some(&renamed.category), None, 10, None)
        .await
        .expect("list");
    assert_eq!(moved.items.len(), 1, "listed under its new category");
}

#[tokio::test]
async fn listings_are_newest_first_with_cursors_bound_to_their_listing() {
    let t = TestApp::spawn().await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(t.product("garden", 100, 1).await);
    }
    t.product("other", 100, 1).await;
    let category = made[0].category.clone();
    let first = products::list_products(&t.app, Some(&category), None, 2, None)
        .await
        .expect("page 1");
    let ids: Vec<_> = first.items.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, [made[4].id.clone(), made[3].id.clone()]);
    let cursor = first.next_cursor.expect("more pages");
    let second = products::list_products(&t.app, Some(&category), None, 2, Some(&cursor))
        .await
        .expect("page 2");
    assert_eq!(second.items[0].id, made[2].id);
    let third = products::list_products(&t.app, Some(&category), None, 2, second.next_cursor.as_deref())
        .await
        .expect("page 3");
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next_cursor, None, "no cursor after the last page");

    let other =
        parse_document::<NewProduct>(json!({"name": "x", "category": "other", "price": 1, "stock": 1}))
            .expect("valid")
            .category;
    for wrong in [
        products::list_products(&t.app, Some(&other), None, 2, Some(&cursor)).await,
        products::list_products(&t.app, None, None, 2, Some(&cursor)).await,
        products::list_products(&t.app, Some(&category), None, 2, Some(&format!("{cursor}x"))).await,
    ] {
        assert!(matches!(wrong, Err(Error::Validation(_))), "{wrong:?}");
    }

    let alice = customer();
    let bob = customer();
    for _ in 0..3 {
        t.order(&alice, &[(&made[0], 1)]).await.ok();
    }
    let product = t.product("stock", 1_000, 10).await;
    let a1 = t.order(&alice, &[(&product, 1)]).await.expect("placed");
    let a2 = t.order(&alice, &[(&product, 1)]).await.expect("placed");
    t.order(&bob, &[(&product, 1)]).await.expect("placed");
    let page = orders::list_orders(&t.app, &alice, 1, None)
        .await
        .expect("alice's orders");
    assert_eq!(page.items[0].id, a2.id, "newest first");
    let cursor = page.next_cursor.expect("more");
    let next = orders::list_orders(&t.app, &alice, 1, Some(&cursor))
        .await
        .expect("page 2");
    assert_eq!(next.items[0].id, a1.id);
    assert!(
        matches!(
            orders::list_orders(&t.app, &bob, 1, Some(&cursor)).await,
            Err(Error::Validation(_))
        ),
        "alice's cursor cannot page bob's orders"
    );
}

#[tokio::test]
async fn cancelling_releases_stock_once_and_only_for_the_owner_or_an_admin() {
    let t = TestApp::spawn().await;
    let product = t.product("bikes", 50_000, 4).await;
    let owner = customer();
    let order = t.order(&owner, &[(&product, 3)]).await.expect("placed");
    assert_eq!(t.stock(&product).await, 1);

    let stranger = customer();
    assert!(matches!(
        orders::get_order(&t.app, &stranger, &order.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        orders::cancel_order(&t.app, &stranger, &order.id).await,
        Err(Error::NotFound)
    ));

    let cancelled = orders::cancel_order(&t.app, &owner, &order.id)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.expires_at, None);
    assert_eq!(t.stock(&product).await, 4);
    let again = orders::cancel_order(&t.app, &owner, &order.id).await;
    assert!(
        matches!(again, Err(Error::InvalidState(OrderStatus::Cancelled))),
        "{again:?}"
    );
    assert_eq!(t.stock(&product).await, 4, "released once");

    let other = t.order(&owner, &[(&product, 1)]).await.expect("placed");
    let admin = admin();
    orders::cancel_order(&t.app, admin.principal(), &other.id)
        .await
        .expect("an admin may cancel");
    assert_eq!(t.stock(&product).await, 4);
}

#[tokio::test]
async fn expiry_racing_cancel_releases_stock_once() {
    let t = TestApp::spawn().await;
    let product = t.product("kites", 2_000, 10).await;
    for _ in 0..race_rounds() {
        let owner = customer();
        let order = t.order(&owner, &[(&product, 2)]).await.expect("placed");
        let due = order.expires_at.expect("expires").plus_secs(1);
        let (expired, cancelled, expired_again) = tokio::join!(
            orders::expire_orders(&t.app, due),
            orders::cancel_order(&t.app, &owner, &order.id),
            orders::expire_orders(&t.app, due),
        );
        let expired = expired.expect("expiry ran");
        let expired_again = expired_again.expect("expiry ran");
        let winners = expired.expired + expired_again.expired + usize::from(cancelled.is_ok());
        assert_eq!(
            winners, 1,
            "exactly one release: {expired:?} {expired_again:?} {cancelled:?}"
        );
        assert_eq!(t.stock(&product).await, 10);
        let stored = t
            .app
            .store
            .get_order(&order.id)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(stored.status, OrderStatus::Cancelled);
    }
}

#[tokio::test]
async fn expiry_leaves_orders_that_are_not_due() {
    let t = TestApp::spawn().await;
    let product = t.product("rugs", 7_000, 5).await;
    let owner = customer();
    let order = t.order(&owner, &[(&product, 1)]).await.expect("placed");
    let report = orders::expire_orders(&t.app, Timestamp::now())
        .await
        .expect("ran");
    assert_eq!(report.expired, 0);
    assert_eq!(
        orders::get_order(&t.app, &owner, &order.id)
            .await
            .expect("read")
            .status,
        OrderStatus::PendingPayment
    );
    let later = order.expires_at.expect("expires").plus_secs(5);
    let report = orders::expire_orders(&t.app, later).await.expect("ran");
    assert_eq!(report.expired, 1);
    assert_eq!(t.stock(&product).await, 5);
    assert_eq!(
        orders::expire_orders(&t.app, later).await.expect("ran").expired,
        0,
        "gone from the pending index"
    );
}

/// An order request for two units of `product`.
fn two_of(product: &Product) -> NewOrder {
    parse_document(
        json!({"items": [{"product_id": product.id.to_string(), "quantity": 2}],
        "shipping_address": shop_tests::fixtures::address()}),
    )
    .expect("valid")
}

#[tokio::test]
async fn placing_the_same_order_id_twice_creates_one_order() {
    let t = TestApp::spawn().await;
    let product = t.product("hats", 1_500, 5).await;
    let buyer = customer();
    let id = OrderId::new();
    let input = || two_of(&product);
    let first = orders::place_order(&t.app, &buyer, input(), id.clone())
        .await
        .expect("placed");
    let second = orders::place_order(&t.app, &buyer, input(), id.clone())
        .await
        .expect("the same order");
    assert_eq!(first, second);
    assert_eq!(t.stock(&product).await, 3, "reserved once");
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_and_recover() {
    let t = TestApp::spawn().await;
    let user = customer().user_id;
    let now = Timestamp::now();
    let store = &t.app.store;

    let Claim::Run(id) = store
        .claim_idempotency_key(&user, "k1", "body-a", now)
        .await
        .expect("claim")
    else {
        panic!("a fresh key runs")
    };
    assert!(matches!(
        store.claim_idempotency_key(&user, "k1", "body-a", now).await,
        Err(Error::IdempotencyInProgress)
    ));
    assert!(matches!(
        store.claim_idempotency_key(&user, "k1", "body-b", now).await,
        Err(Error::IdempotencyKeyReused)
    ));
    // Another user's key of the same name is theirs alone.
    let other = customer().user_id;
    assert!(matches!(
        store.claim_idempotency_key(&other, "k1", "body-b", now).await,
        Ok(Claim::Run(_))
    ));

    let response = StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        body: "{\"id\":1}".into(),
    };
    store
        .complete_idempotency_key(&user, "k1", &response)
        .await
        .expect("completed");
    assert_eq!(
        store
            .claim_idempotency_key(&user, "k1", "body-a", now)
            .await
            .expect("replay"),
        Claim::Replay(response)
    );

    // A claim whose holder died is taken over, with the same resource id.
    let Claim::Run(dead) = store
        .claim_idempotency_key(&user, "k2", "body", now)
        .await
        .expect("claim")
    else {
        panic!("runs")
    };
    let later = now.plus_secs(LOCK_SECS + 1);
    assert_eq!(
        store
            .claim_idempotency_key(&user, "k2", "body", later)
            .await
            .expect("takeover"),
        Claim::Retry(dead),
        "a retry, knowing the first attempt may have done its work"
    );
    assert_ne!(dead, id);
    // After 24 hours the key is free again.
    let tomorrow = now.plus_secs(shared::model::idempotency::RETENTION_SECS + 1);
    assert!(matches!(
        store.claim_idempotency_key(&user, "k1", "body-z", tomorrow).await,
        Ok(Claim::Run(_))
    ));
}

#[tokio::test]
async fn customers_may_not_manage_the_catalogue_and_admins_may_not_order() {
    let t = TestApp::spawn().await;
    assert!(matches!(customer().into_admin(), Err(Error::Forbidden)));
    let product = t.product("tools", 100, 1).await;
    let result = t.order(admin().principal(), &[(&product, 1)]).await;
    assert!(matches!(result, Err(Error::Forbidden)), "{result:?}");
}

#[tokio::test]
async fn a_retry_of_a_placed_order_answers_the_order_not_out_of_stock() {
    let t = TestApp::spawn().await;
    let product = t.product("last", 1_000, 2).await;
    let buyer = customer();
    let id = OrderId::new();
    let input = || two_of(&product);
    let first = orders::place_order(&t.app, &buyer, input(), id.clone())
        .await
        .expect("placed");
    // The answer was lost; the retry (same order id) finds no stock left:
    // the stock it took itself.
    let again = orders::place_order(&t.app, &buyer, input(), id.clone())
        .await
        .expect("the order it placed");
    assert_eq!(again, first);
    assert_eq!(t.stock(&product).await, 0);
    // Someone else's order id does not count.
    assert!(matches!(
        orders::place_order(&t.app, &customer(), input(), id).await,
        Err(Error::OutOfStock(_))
    ));
}

#[tokio::test]
async fn listings_follow_a_query_page_cut_at_one_megabyte() {
    // One customer with 70 unpaid orders: a shop that allows that many.
    let t = TestApp::spawn_with(&[("MAX_UNPAID_ORDERS", "100")]).await;
    let buyer = customer();
    let mut lines = Vec::new();
    for i in 0..50 {
        let input = parse_document(json!({
            "name": format!("{i:03} {}", "a long product name ".repeat(9)),
            "category": "bulky", "price": 100, "stock": 1_000
        }))
        .expect("valid");
        lines.push(
            products::create_product(&t.app, &admin(), input)
                .await
                .expect("created"),
        );
    }
    let lines: Vec<_> = lines.iter().map(|p| (p, 1)).collect();
    for _ in 0..70 {
        t.order(&buyer, &lines).await.expect("placed");
    }
    // 70 orders of 50 long lines are more than one 1 MB query page.
    let page = orders::list_orders(&t.app, &buyer, 100, None)
        .await
        .expect("listed");
    assert_eq!(page.items.len(), 70, "none lost at the 1 MB boundary");
    assert_eq!(page.next_cursor, None);
    let first = orders::list_orders(&t.app, &buyer, 60, None)
        .await
        .expect("listed");
    assert_eq!(first.items.len(), 60);
    let rest = orders::list_orders(&t.app, &buyer, 60, first.next_cursor.as_deref())
        .await
        .expect("listed");
    assert_eq!(rest.items.len(), 10);
}

/// Hoarding: a customer holds at most `MAX_UNPAID_ORDERS` (3) unpaid orders
/// at once, counted atomically with each order (ten at once: three placed),
/// a slot coming back when one is paid, cancelled or expires; and at most
/// `MAX_UNITS_PER_PRODUCT` (10) units of a product per order. A refused
/// order reserves nothing.
#[tokio::test]
async fn a_customer_cannot_hoard_stock() {
    let t = TestApp::spawn().await;
    let product = t.product("hoard", 500, 1_000).await;
    let hoarder = customer();

    let too_many = t.order(&hoarder, &[(&product, 11)]).await;
    assert!(
        matches!(&too_many, Err(Error::QuantityLimit { max: 10, product_id }) if *product_id == product.id),
        "{too_many:?}"
    );
    assert_eq!(t.stock(&product).await, 1_000);

    let attempts = (0..10).map(|_| t.order(&hoarder, &[(&product, 10)]));
    let results = futures::future::join_all(attempts).await;
    let placed: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::TooManyUnpaidOrders(3))))
        .count();
    assert_eq!((placed.len(), refused), (3, 7), "{results:?}");
    assert_eq!(t.stock(&product).await, 970, "only the placed orders hold stock");

    // A slot comes back with a cancel, a payment, an expiry.
    orders::cancel_order(&t.app, &hoarder, &placed[0].id)
        .await
        .expect("cancelled");
    let fourth = t
        .order(&hoarder, &[(&product, 1)])
        .await
        .expect("a slot came back");
    assert!(matches!(
        t.order(&hoarder, &[(&product, 1)]).await,
        Err(Error::TooManyUnpaidOrders(_))
    ));
    t.pay(&hoarder, placed[1]).await;
    t.order(&hoarder, &[(&product, 1)])
        .await
        .expect("paid: a slot came back");
    let due = Timestamp::now().plus_secs(t.app.config.order_ttl_secs + 1);
    let expired = orders::expire_orders(&t.app, due).await.expect("expired");
    assert!(expired.expired >= 3, "{expired:?}");
    t.order(&hoarder, &[(&product, 1)])
        .await
        .expect("expired: slots came back");
    // Another customer was never limited by this one.
    t.order(&customer(), &[(&product, 10)])
        .await
        .expect("another customer");
    assert_ne!(fourth.id, placed[2].id);
}

/// A total the payment provider cannot charge (below Stripe's 50-cent
/// minimum in USD, or above eight digits of cents) could never be paid:
/// it is refused when placed, and no stock is held for it.
#[tokio::test]
async fn a_total_the_provider_cannot_charge_is_refused_before_stock_is_held() {
    let t = TestApp::spawn().await;
    let buyer = customer();
    let cheap = t.product("cheap", 49, 5).await;
    let dear = t.product("dear", 100_000_000, 5).await;
    for (product, quantity) in [(&cheap, 1), (&dear, 1)] {
        let refused = t.order(&buyer, &[(product, quantity)]).await;
        assert!(
            matches!(
                refused,
                Err(Error::AmountOutOfRange {
                    min: 50,
                    max: 99_999_999
                })
            ),
            "{refused:?}"
        );
        assert_eq!(t.stock(product).await, 5, "nothing held");
    }
    // Two of the cheap one reach the minimum.
    t.order(&buyer, &[(&cheap, 2)])
        .await
        .expect("98 cents can be charged");
    assert_eq!(t.stock(&cheap).await, 3);
}
