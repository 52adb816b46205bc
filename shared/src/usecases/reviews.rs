//! Reviews' use cases: writing one, and the two listings.

use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::model::auth::Principal;
use crate::model::products::ProductId;
use crate::model::reviews::{self, NewReview, Review, ReviewListing};

/// Writes the caller's review of a product they have had delivered.
pub async fn create_review(
    app: &App,
    caller: &Principal,
    product: &ProductId,
    input: NewReview,
) -> Result<Review, Error> {
    reviews::may_review(caller)?;
    let (author, record) = futures::try_join!(
        app.store.get_account(&caller.user_id),
        app.store.product_record(product)
    )?;
    let author = author.ok_or(Error::NotFound)?;
    let record = record.filter(|p| p.for_sale()).ok_or(Error::NotFound)?;
    let review = Review::new(author.user.name.as_str(), product, input, Timestamp::now());
    // The totals go to one counter at random: a popular product's reviews spread.
    let counter = fastrand::u8(..record.stock_counters.max(1));
    app.store.put_review(&review, &caller.user_id, counter).await?;
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
    app.store
        .product_for_sale(product)
        .await?
        .ok_or(Error::NotFound)?;
    app.store
        .list_reviews(
            app.config.cursor_secret()?,
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
            app.config.cursor_secret()?,
            ReviewListing::Author(&caller.user_id),
            limit,
            cursor,
        )
        .await
}
