//! End to end: every row of the contract's "Reviews" and `GET /users/me/reviews`,
//! through the gateway and the real binaries, after a real delivery.

use serde_json::{Value, json};
use shop_tests::Shop;
use shop_tests::reqwest::StatusCode;

#[tokio::test]
async fn a_delivered_customer_reviews_and_everyone_reads_it() {
    let shop = Shop::new().await;
    let product = shop.product(5).await;
    let path = format!("/products/{product}/reviews");
    let token = Some(shop.customer.token.as_str());
    let body = json!({"rating": 4, "title": "Good tent", "body": "Kept us dry.\nHeavy, though."});

    shop.api
        .post(&path, token, body.clone())
        .await
        .assert_problem(403, "NOT_PURCHASED");
    shop.delivered(&product).await;

    let invalid = shop
        .api
        .post(&path, token, json!({"rating": 9, "body": 5, "stars": 1}))
        .await;
    invalid.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(invalid.error_fields(), ["rating", "body", "stars"]);
    shop.api
        .post(&path, None, body.clone())
        .await
        .assert_problem(401, "UNAUTHENTICATED");

    let written = shop.api.post(&path, token, body.clone()).await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    let review = written.body;
    assert_eq!(review["rating"], 4);
    assert_eq!(review["title"], "Good tent");
    assert_eq!(review["body"], "Kept us dry.\nHeavy, though.");
    assert_eq!(review["user_name"], "Test Customer");
    // The reviewer by display name only: no answer links a person's reviews.
    assert!(review.get("user_id").is_none(), "{review}");
    assert!(
        !written.text.contains(shop.customer.id.as_str()),
        "{}",
        written.text
    );
    assert_eq!(review["verified_purchase"], true);
    shop.api
        .post(&path, token, body)
        .await
        .assert_problem(409, "ALREADY_REVIEWED");

    let listed = shop.api.get(&path, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"], json!([review.clone()]));
    assert_eq!(listed.body["next_cursor"], Value::Null);
    let mine = shop.api.get("/users/me/reviews", token).await;
    assert_eq!(mine.body["items"], json!([review]));
    shop.api
        .get("/users/me/reviews", None)
        .await
        .assert_problem(401, "UNAUTHENTICATED");

    let rated = shop.api.get(&format!("/products/{product}"), None).await;
    assert_eq!(rated.body["rating"], json!({"average": 4.0, "count": 1}));

    shop.api
        .post(&path, Some(&shop.admin), json!({"rating": 5, "body": ""}))
        .await
        .assert_problem(403, "FORBIDDEN");
    shop.api
        .get("/products/0196b7a0-0000-7000-8000-00000000dead/reviews", None)
        .await
        .assert_problem(404, "NOT_FOUND");
    shop.api
        .get(&format!("{path}?cursor=abc.def"), None)
        .await
        .assert_problem(400, "VALIDATION_FAILED");
}
