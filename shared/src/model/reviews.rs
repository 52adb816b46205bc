//! Reviews: verified-purchase only, one per user and product.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
pub use crate::foundation::ids::ReviewId;
use crate::foundation::ids::{ProductId, UserId};
use crate::foundation::input::{Errors, FromJson, Object, plain_text};
use crate::model::auth::{Principal, Role};

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
        let title = o.optional("title", |s| plain_text(s, 120));
        let body = o.required("body", |s| plain_text(s, 2000));
        o.end();
        Some(Self {
            rating: rating?,
            title: title?,
            body: body?,
        })
    }
}

/// A review as anyone may see it: the reviewer appears by display name
/// only. Their user id (kept in the store, for the key that allows one
/// review per user and product) would link one person's purchases across
/// products, so no answer carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub id: ReviewId,
    pub product_id: ProductId,
    /// The reviewer's display name when the review was written.
    pub user_name: String,
    pub rating: u8,
    pub title: Option<String>,
    pub body: String,
    pub verified_purchase: bool,
    pub created_at: Timestamp,
}

impl Review {
    /// The review its author (shown as `author_name`) writes now.
    pub fn new(author_name: &str, product: &ProductId, input: NewReview, now: Timestamp) -> Self {
        Self {
            id: ReviewId::new(),
            product_id: product.clone(),
            user_name: author_name.to_owned(),
            rating: input.rating,
            title: input.title,
            body: input.body,
            verified_purchase: true,
            created_at: now,
        }
    }
}

/// Customers review; an admin is `403`. (That the customer has had the
/// product delivered is checked in the review's own write.)
pub fn may_review(caller: &Principal) -> Result<(), Error> {
    match caller.role {
        Role::Customer => Ok(()),
        Role::Admin => Err(Error::Forbidden),
    }
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
    use crate::foundation::error::Error;
    use crate::foundation::input::parse_document;

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
