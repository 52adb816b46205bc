//! The catalogue's word index (decision 73): a posting per word and
//! product, `SEARCH#<first two characters>` / `<word>#<product id>`, with
//! where the product has the word and its category. Written by the
//! indexer from the table's stream; a word, or a prefix of two or more
//! characters, is one `Query` of one partition.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::expr::{Keyed, attr};
use super::{Item, PARTITION_KEY, SORT_KEY, Store, key, n, s};
use crate::foundation::error::Error;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::products::{Category, ProductId};
use crate::model::search::{MAX_CANDIDATES, bucket};

/// A word's postings past this many are not read: a word that common
/// (in a fifth of a large catalogue) narrows nothing; the other words do.
const MAX_POSTINGS: usize = 20 * MAX_CANDIDATES;

fn posting_key(word: &str, product: &ProductId) -> Item {
    key((format!("SEARCH#{}", bucket(word)), format!("{word}#{product}")))
}

/// One product a word (or prefix) matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub product: ProductId,
    /// Where it has the word (`model::search::IN_*`).
    pub places: u8,
    pub category: String,
    /// The word matched whole (not only as a prefix).
    pub whole: bool,
}

impl Store {
    /// Writes a product's postings and removes those of words it no
    /// longer has: `BatchWriteItem`s of 25, unprocessed ones retried.
    /// Puts and deletes are idempotent, so a replayed change writes the
    /// same index.
    pub async fn write_postings(
        &self,
        product: &ProductId,
        category: Option<&Category>,
        written: &BTreeMap<String, u8>,
        removed: &[String],
    ) -> Result<(), Error> {
        let mut requests = Vec::new();
        for (word, places) in written {
            let mut item = posting_key(word, product);
            item.insert("product_id".into(), s(product.to_string()));
            item.insert("places".into(), n(places));
            if let Some(category) = category {
                item.insert("category".into(), s(category.as_str()));
            }
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(Error::internal)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for word in removed {
            let delete = DeleteRequest::builder()
                .set_key(Some(posting_key(word, product)))
                .build()
                .map_err(Error::internal)?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..MAX_ATTEMPTS {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(self.table.clone(), pending.clone())
                    .send()
                    .await?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt + 1 == MAX_ATTEMPTS {
                    return Err(Error::Unavailable("the search index kept refusing writes".into()));
                }
                backoff(attempt).await;
            }
        }
        Ok(())
    }

    /// The postings of `word` (or, with `prefix`, of every word it
    /// begins), of products in `category` if one is given: one partition,
    /// read a page at a time (eventually consistent), at most
    /// [`MAX_POSTINGS`].
    pub async fn postings(
        &self,
        word: &str,
        prefix: bool,
        category: Option<&Category>,
    ) -> Result<Vec<Posting>, Error> {
        let begins = if prefix {
            word.to_owned()
        } else {
            format!("{word}#")
        };
        let filter = category.map(|c| attr("category").eq(s(c.as_str())));
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .keys_where(
                    attr(PARTITION_KEY)
                        .eq(s(format!("SEARCH#{}", bucket(word))))
                        .and(attr(SORT_KEY).begins_with(s(begins.clone()))),
                    filter.clone(),
                )
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                let sk = text(SORT_KEY);
                let Some((matched, id)) = sk.rsplit_once('#') else {
                    continue;
                };
                let Ok(product) = ProductId::parse(id) else {
                    continue;
                };
                let places = item
                    .get("places")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                found.push(Posting {
                    product,
                    places,
                    category: text("category"),
                    whole: matched == word,
                });
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() && found.len() < MAX_POSTINGS => start = Some(next),
                _ => return Ok(found),
            }
        }
    }
}
