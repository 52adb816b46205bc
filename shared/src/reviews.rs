//! Reviews: verified-purchase only, one per user and product, with the
//! product's rating changed in the same transaction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::auth::{Principal, Role};
use crate::clock::Timestamp;
use crate::cursor::Page;
use crate::error::Error;
use crate::input::{Errors, FromJson, Object};
use crate::newtype::uuid_id;
use crate::products::ProductId;
use crate::users::UserId;

uuid_id!(ReviewId, "a review id");

/// Text kept exactly as given (no trimming), at most `max` characters.
fn text(raw: String, max: usize) -> Result<String, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(raw)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub rating: u8,
    pub title: Option<String>,
    pub body: String,
}

impl FromJson for NewReview {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let rating = o.required("rating", |n: u8| {
            if (1..=5).contains(&n) {
                Ok(n)
            } else {
                Err("must be an integer from 1 to 5".into())
            }
        });
        let title = o.optional("title", |s| text(s, 120));
        let body = o.required("body", |s| text(s, 2000));
        o.end();
        Some(Self {
            rating: rating?,
            title: title?,
            body: body?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub user_id: UserId,
    /// The reviewer's display name when the review was written.
    pub user_name: String,
    pub rating: u8,
    pub title: Option<String>,
    pub body: String,
    pub verified_purchase: bool,
    pub created_at: Timestamp,
}

/// Writes the caller's review of a product they have had delivered.
pub async fn create_review(
    app: &App,
    caller: &Principal,
    product: &ProductId,
    input: NewReview,
) -> Result<Review, Error> {
    if caller.role != Role::Customer {
        return Err(Error::Forbidden);
    }
    let author = app
        .store
        .get_account(&caller.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let review = Review {
        id: ReviewId::new(),
        product_id: product.clone(),
        user_id: caller.user_id.clone(),
        user_name: author.user.name.as_str().to_owned(),
        rating: input.rating,
        title: input.title,
        body: input.body,
        verified_purchase: true,
        created_at: Timestamp::now(),
    };
    app.store.put_review(&review).await?;
    Ok(review)
}

/// A product's reviews, newest first.
pub async fn list_product_reviews(
    app: &App,
    product: &ProductId,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Review>, Error> {
    // Reviews of a product that is not for sale are not shown either.
    app.store.get_product(product).await?.ok_or(Error::NotFound)?;
    app.store
        .list_reviews(
            app.config.jwt_secret()?,
            ReviewListing::Product(product),
            limit,
            cursor,
        )
        .await
}

/// The caller's own reviews, newest first.
pub async fn list_my_reviews(
    app: &App,
    caller: &Principal,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Review>, Error> {
    app.store
        .list_reviews(
            app.config.jwt_secret()?,
            ReviewListing::Author(&caller.user_id),
            limit,
            cursor,
        )
        .await
}

/// Which reviews to list.
#[derive(Debug, Clone, Copy)]
pub enum ReviewListing<'a> {
    Product(&'a ProductId),
    Author(&'a UserId),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::input::parse_document;

    #[test]
    fn reviews_are_bounded_and_kept_as_given() {
        let review: NewReview =
            parse_document(json!({"rating": 5, "body": "  Great mug.\n"})).expect("valid");
        assert_eq!(review.body, "  Great mug.\n", "not trimmed");
        assert_eq!(review.title, None);
        let Err(Error::Validation(errors)) = parse_document::<NewReview>(json!({
            "rating": 6, "title": "t".repeat(121), "body": "b".repeat(2001), "stars": 5
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rating", "title", "body", "stars"]);
        assert!(parse_document::<NewReview>(json!({"rating": 0, "body": ""})).is_err());
        assert!(parse_document::<NewReview>(json!({"rating": 4.5, "body": ""})).is_err());
        assert!(parse_document::<NewReview>(json!({"rating": 1, "body": ""})).is_ok());
    }
}
