//! Catalogue search against the emulator: the indexer writes products'
//! words from the table's stream, and `GET /products?q=` finds them by
//! every word (the last as a prefix), Unicode-folded, best matches first,
//! then the most sold.

use serde_json::json;
use shared::foundation::input::parse_document;
use shared::model::products::{Category, Product};
use shared::model::search::Query;
use shared::usecases::{products, search};
use shop_tests::TestApp;
use shop_tests::fixtures::{admin, customer};

async fn add(t: &TestApp, name: &str, category: &str, description: &str) -> Product {
    let input = parse_document(json!({
        "name": name, "category": category, "description": description, "price": 1_000, "stock": 50
    }))
    .expect("valid");
    products::create_product(&t.app, &admin(), input)
        .await
        .expect("created")
}

/// Every page of a search, followed to its end: the names answered.
async fn found(t: &TestApp, q: &str, category: Option<&str>, limit: usize) -> Vec<String> {
    let query = Query::parse(q).expect("a query");
    let category = category.map(|c| Category::parse(c.into()).expect("a category"));
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = search::search_products(&t.app, &query, category.as_ref(), None, limit, cursor.as_deref())
            .await
            .expect("a page");
        names.extend(page.items.into_iter().map(|p| p.name));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return names,
        }
    }
}

#[tokio::test]
async fn products_are_found_by_every_word_best_matches_first_then_the_most_sold() {
    let t = TestApp::spawn_with(&[("MAX_UNPAID_ORDERS", "100")]).await;
    let enamel = add(&t, "Enamel Mug", "kitchen", "350 ml, for the camp.").await;
    let steel = add(&t, "Steel Mug", "kitchen", "Double walled.").await;
    add(&t, "Mugwort tea", "tea", "Herbal, loose leaf.").await;
    add(&t, "Blue enamel bowl", "kitchen", "Deep.").await;
    add(&t, "Straße map", "maps", "Folded.").await;
    let plate = add(&t, "Enamel plate", "kitchen", "Flat.").await;
    products::delete_product(&t.app, &admin(), &plate.id)
        .await
        .expect("deleted");
    // The steel mug sells more.
    let buyer = customer();
    t.order(&buyer, &[(&steel, 3)]).await.expect("placed");
    t.order(&buyer, &[(&enamel, 1)]).await.expect("placed");
    let (indexed, _) = shop_tests::outbox::index_all(&t).await;
    assert!(
        indexed.iter().all(|r| r.batch_item_failures.is_empty()),
        "{indexed:?}"
    );

    // Whole words in the name first, the most sold first among them; then
    // a prefix of a word in the name.
    assert_eq!(
        found(&t, "MUG", None, 1).await,
        ["Steel Mug", "Enamel Mug", "Mugwort tea"]
    );
    assert_eq!(
        found(&t, "enamel mu", None, 10).await,
        ["Enamel Mug"],
        "every word"
    );
    assert_eq!(
        found(&t, "enamel", None, 10).await,
        ["Enamel Mug", "Blue enamel bowl"],
        "equal matches: the one sold first"
    );
    assert_eq!(
        found(&t, "strasse", None, 10).await,
        ["Straße map"],
        "case-folded: ß is ss"
    );
    assert_eq!(
        found(&t, "kitchen deep", None, 10).await,
        ["Blue enamel bowl"],
        "category and description"
    );
    assert_eq!(
        found(&t, "mug", Some("tea"), 10).await,
        ["Mugwort tea"],
        "with a category"
    );
    assert!(
        found(&t, "plate", None, 10).await.is_empty(),
        "a deleted product is gone"
    );
    assert!(found(&t, "!!", None, 10).await.is_empty(), "no word, no match");

    // A rename moves its words; the stream replayed changes nothing.
    let patch = parse_document(json!({"name": "Camp cup"})).expect("valid");
    products::update_product(&t.app, &admin(), &enamel.id, patch, None)
        .await
        .expect("renamed");
    shop_tests::outbox::index_all(&t).await;
    shop_tests::outbox::index_all(&t).await;
    assert_eq!(found(&t, "mug", None, 10).await, ["Steel Mug", "Mugwort tea"]);
    assert_eq!(
        found(&t, "camp", None, 10).await,
        ["Camp cup"],
        "in the name now, before the description"
    );
}
