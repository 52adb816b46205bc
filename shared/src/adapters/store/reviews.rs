//! Review items: `PRODUCT#<product>` / `REVIEW#<user>`, so the key itself
//! allows one review per user and product. Listed through GSI1
//! (`REVIEWS#<product>`) and GSI2 (`REVIEWER#<user>`), newest first.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use super::expr::{Conditional, attr};
use super::{GSI1, GSI2, PARTITION_KEY, PageQuery, Store, built, item, key, keys, s};
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::foundation::secret::Secret;
use crate::model::reviews::{Review, ReviewListing};

impl Store {
    /// Writes the review, adds it to the rating totals of the product's
    /// `counter` (conditional on the product being for sale), and checks the
    /// purchase record, in one transaction: a second review of the same
    /// product by the same user, even a concurrent one, writes nothing.
    pub async fn put_review(&self, review: &Review, author: &UserId, counter: u8) -> Result<(), Error> {
        let mut record = item(keys::review(&review.product_id, author), review)?;
        record.insert("user_id".into(), s(author.to_string()));
        let listed = keys::by_time(review.created_at, &review.id);
        record.insert(
            GSI1.partition_key.into(),
            s(keys::product_reviews(&review.product_id)),
        );
        record.insert(GSI1.sort_key.into(), s(listed.clone()));
        record.insert(GSI2.partition_key.into(), s(keys::reviewer(author)));
        record.insert(GSI2.sort_key.into(), s(listed));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .when(attr(PARTITION_KEY).not_exists());
        let rating = self.rating_item(&review.product_id, counter, review.rating)?;
        let purchased = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::purchase(author, &review.product_id))))
            .when(attr(PARTITION_KEY).exists());
        let items = vec![
            TransactWriteItem::builder().put(built(put.build())?).build(),
            rating,
            TransactWriteItem::builder()
                .condition_check(built(purchased.build())?)
                .build(),
        ];
        let Err(failed) = self.transact(items).await? else {
            return Ok(());
        };
        let failed = |i: usize| failed.get(i).is_some_and(|code| code == "ConditionalCheckFailed");
        Err(if failed(1) {
            Error::NotFound
        } else if failed(2) {
            Error::NotPurchased
        } else {
            Error::AlreadyReviewed
        })
    }

    pub async fn list_reviews(
        &self,
        secret: &Secret,
        listing: ReviewListing<'_>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Review>, Error> {
        let query = match listing {
            ReviewListing::Product(product) => PageQuery {
                gsi: &GSI1,
                partition: keys::product_reviews(product),
                sort_prefix: None,
                scope: format!("reviews:{product}"),
                limit,
                cursor,
            },
            ReviewListing::Author(user) => PageQuery {
                gsi: &GSI2,
                partition: keys::reviewer(user),
                sort_prefix: None,
                scope: format!("reviews-by:{user}"),
                limit,
                cursor,
            },
        };
        let (items, next_cursor) = self.query_page(secret, query).await?;
        let items = items
            .into_iter()
            .map(serde_dynamo::from_item)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }
}
