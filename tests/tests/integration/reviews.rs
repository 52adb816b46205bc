//! Reviews against the emulator: eligibility by delivered purchase, one per
//! user and product under concurrency, an exact rating aggregate.

use serde_json::json;
use shared::Error;
use shared::foundation::input::parse_document;
use shared::model::reviews::NewReview;
use shared::usecases::products;
use shared::usecases::refunds;
use shared::usecases::reviews;
use shop_tests::fixtures::admin;
use shop_tests::{TestApp, race_rounds};

fn review(rating: u8) -> NewReview {
    parse_document(json!({"rating": rating, "title": "Solid", "body": "  Exactly as described.\n"}))
        .expect("valid")
}

#[tokio::test]
async fn only_a_delivered_purchase_may_be_reviewed_and_only_once() {
    let t = TestApp::spawn().await;
    let product = t.product("reviews", 1_000, 10).await;
    let other = t.product("reviews", 1_000, 10).await;
    let buyer = t.registered("Ann").await;

    let paid = t.paid_order(&buyer, &[(&product, 1)]).await;
    assert!(
        matches!(
            reviews::create_review(&t.app, &buyer, &product.id, review(5)).await,
            Err(Error::NotPurchased)
        ),
        "paid is not enough"
    );
    t.deliver("shipping", shared::usecases::shipping::handle_message)
        .await;
    shared::usecases::shipping::add_event(
        &t.app,
        &admin(),
        &shared::model::shipping::ShipmentId::for_order(&paid.id),
        parse_document(json!({"status": "DELIVERED"})).expect("valid"),
    )
    .await
    .expect("delivered");

    let written = reviews::create_review(&t.app, &buyer, &product.id, review(4))
        .await
        .expect("written");
    assert_eq!(written.user_name, "Ann");
    assert_eq!(written.body, "  Exactly as described.\n", "stored as given");
    assert!(written.verified_purchase);
    assert!(matches!(
        reviews::create_review(&t.app, &buyer, &product.id, review(1)).await,
        Err(Error::AlreadyReviewed)
    ));
    assert!(
        matches!(
            reviews::create_review(&t.app, &buyer, &other.id, review(5)).await,
            Err(Error::NotPurchased)
        ),
        "another product"
    );
    let stranger = t.registered("Bob").await;
    assert!(matches!(
        reviews::create_review(&t.app, &stranger, &product.id, review(5)).await,
        Err(Error::NotPurchased)
    ));
    assert!(matches!(
        reviews::create_review(&t.app, admin().principal(), &product.id, review(5)).await,
        Err(Error::Forbidden)
    ));
    let rated = products::get_product(&t.app, &product.id, None)
        .await
        .expect("read");
    assert_eq!((rated.rating.count, rated.rating.average), (1, Some(4.0)));
}

#[tokio::test]
async fn a_returned_purchase_may_still_be_reviewed() {
    let t = TestApp::spawn().await;
    let product = t.product("reviews", 1_000, 10).await;
    let buyer = t.registered("Cy").await;
    let order = t.delivered_order(&buyer, &[(&product, 1)]).await;
    let reason = parse_document(json!({"reason": "Changed my mind"})).expect("valid");
    refunds::request_return(&t.app, &buyer, &order.id, reason)
        .await
        .expect("returned");
    reviews::create_review(&t.app, &buyer, &product.id, review(2))
        .await
        .expect("still allowed");
}

#[tokio::test]
async fn concurrent_reviews_by_one_user_give_one_review() {
    let t = TestApp::spawn().await;
    let buyer = t.registered("Di").await;
    for round in 0..race_rounds() {
        let product = t.product("reviews", 1_000, 10).await;
        t.delivered_order(&buyer, &[(&product, 1)]).await;
        let attempts = (1..=5).map(|r| reviews::create_review(&t.app, &buyer, &product.id, review(r)));
        let results = futures::future::join_all(attempts).await;
        let written = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(Error::AlreadyReviewed)))
            .count();
        assert_eq!((written, refused), (1, 4), "round {round}: {results:?}");
        let rated = products::get_product(&t.app, &product.id, None)
            .await
            .expect("read");
        assert_eq!(rated.rating.count, 1, "round {round}");
    }
}

#[tokio::test]
async fn twenty_concurrent_reviewers_give_an_exact_aggregate() {
    let t = TestApp::spawn().await;
    let mut products = Vec::new();
    for _ in 0..race_rounds() {
        products.push(t.product("reviews", 500, 100).await);
    }
    let lines: Vec<_> = products.iter().map(|p| (p, 1)).collect();
    let mut reviewers = Vec::new();
    for i in 0..20 {
        let buyer = t.registered(&format!("Reviewer {i}")).await;
        t.delivered_order(&buyer, &lines).await;
        reviewers.push(buyer);
    }
    let ratings: Vec<u8> = (0..20).map(|i| (i % 5 + 1) as u8).collect();
    let sum: u32 = ratings.iter().map(|r| u32::from(*r)).sum();
    for (round, product) in products.iter().enumerate() {
        let writes = reviewers
            .iter()
            .zip(&ratings)
            .map(|(buyer, rating)| reviews::create_review(&t.app, buyer, &product.id, review(*rating)));
        let results = futures::future::join_all(writes).await;
        assert!(results.iter().all(Result::is_ok), "round {round}: {results:?}");
        let rated = products::get_product(&t.app, &product.id, None)
            .await
            .expect("read");
        assert_eq!(rated.rating.count, 20, "round {round}");
        assert_eq!(rated.rating.average, Some(f64::from(sum) / 20.0), "round {round}");
    }
    let product = &products[0];

    // Newest first, paged with a cursor that stays in its listing.
    let first = reviews::list_product_reviews(&t.app, &product.id, 15, None)
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 15);
    assert!(first.items.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    let cursor = first.next_cursor.expect("more");
    let second = reviews::list_product_reviews(&t.app, &product.id, 15, Some(&cursor))
        .await
        .expect("page 2");
    assert_eq!(second.items.len(), 5);
    assert_eq!(second.next_cursor, None);
    let mut seen: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|r| r.id.clone())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20);
    assert!(
        matches!(
            reviews::list_my_reviews(&t.app, &reviewers[0], 15, Some(&cursor)).await,
            Err(Error::Validation(_))
        ),
        "a product's cursor does not page a user's reviews"
    );
}

#[tokio::test]
async fn a_users_reviews_are_theirs_newest_first() {
    let t = TestApp::spawn().await;
    let first = t.product("reviews", 1_000, 10).await;
    let second = t.product("reviews", 1_000, 10).await;
    let buyer = t.registered("Eve").await;
    t.delivered_order(&buyer, &[(&first, 1), (&second, 1)]).await;
    reviews::create_review(&t.app, &buyer, &first.id, review(3))
        .await
        .expect("one");
    let newest = reviews::create_review(&t.app, &buyer, &second.id, review(5))
        .await
        .expect("two");
    let mine = reviews::list_my_reviews(&t.app, &buyer, 1, None)
        .await
        .expect("mine");
    assert_eq!(mine.items[0].id, newest.id);
    let rest = reviews::list_my_reviews(&t.app, &buyer, 1, mine.next_cursor.as_deref())
        .await
        .expect("more");
    assert_eq!(rest.items[0].product_id, first.id);
    let someone = t.registered("Fay").await;
    assert!(
        reviews::list_my_reviews(&t.app, &someone, 10, None)
            .await
            .expect("empty")
            .items
            .is_empty()
    );

    products::delete_product(&t.app, &admin(), &first.id)
        .await
        .expect("deleted");
    assert!(matches!(
        reviews::list_product_reviews(&t.app, &first.id, 10, None).await,
        Err(Error::NotFound)
    ));
}
