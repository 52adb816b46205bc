//! The single DynamoDB table: keys, item mapping, conditional writes and
//! transactions. No other module builds a key or an expression.
//!
//! | item | PK | SK |
//! | --- | --- | --- |
//! | user profile and password hash | `USER#<id>` | `PROFILE` |
//! | email → user id (uniqueness) | `EMAIL#<email>` | `EMAIL` |
//! | login attempts in the current window | `LOGIN#<email>` | `ATTEMPTS` (TTL) |
//! | product (stock and rating live here) | `PRODUCT#<id>` | `PRODUCT` |
//! | order, its lines inside | `ORDER#<id>` | `ORDER` |
//! | its payment | `ORDER#<id>` | `PAYMENT` |
//! | its shipment, events inside (shipment id = order id) | `ORDER#<id>` | `SHIPMENT` |
//! | a product a user has had delivered | `USER#<id>` | `PURCHASED#<product>` |
//! | a user's review of a product (one, by key) | `PRODUCT#<product>` | `REVIEW#<user>` |
//! | idempotency record | `IDEMPOTENCY#<user>#<key>` | `RECORD` (TTL) |
//!
//! | index | PK | SK | holds |
//! | --- | --- | --- | --- |
//! | GSI1 | `CATALOG` | `<created_at>#<id>` | products for sale |
//! | GSI1 | `USER#<id>` | `ORDER#<created_at>#<id>` | a user's orders |
//! | GSI2 | `CATEGORY#<c>` | `<created_at>#<id>` | products for sale by category |
//! | GSI2 | `PENDING` | `<expires_at>#<id>` | orders awaiting payment |
//! | GSI1 | `REVIEWS#<product>` | `<created_at>#<id>` | a product's reviews |
//! | GSI2 | `REVIEWER#<user>` | `<created_at>#<id>` | a user's reviews |

mod idempotency;
mod orders;
mod payments;
mod products;
mod refunds;
mod reviews;
mod schema;
mod shipping;
mod users;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::config::Secret;
use crate::cursor;

pub use payments::PaymentRecord;
pub use schema::{GSI1, GSI2, GSIS, Gsi, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, create_table, delete_table};
pub use users::Account;

type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Key builders: the only place that knows how keys are spelt.
mod keys {
    use crate::clock::Timestamp;
    use crate::orders::OrderId;
    use crate::products::{Category, ProductId};
    use crate::shipping::ShipmentId;
    use crate::users::{Email, UserId};

    pub fn user(id: &UserId) -> (String, &'static str) {
        (format!("USER#{id}"), "PROFILE")
    }

    pub fn email(email: &Email) -> (String, &'static str) {
        (format!("EMAIL#{}", email.as_str()), "EMAIL")
    }

    pub fn login_attempts(email: &Email) -> (String, &'static str) {
        (format!("LOGIN#{}", email.as_str()), "ATTEMPTS")
    }

    pub fn product(id: &ProductId) -> (String, &'static str) {
        (format!("PRODUCT#{id}"), "PRODUCT")
    }

    pub fn order(id: &OrderId) -> (String, &'static str) {
        (format!("ORDER#{id}"), "ORDER")
    }

    pub fn payment(order: &OrderId) -> (String, &'static str) {
        (format!("ORDER#{order}"), "PAYMENT")
    }

    pub fn shipment(id: &ShipmentId) -> (String, &'static str) {
        (format!("ORDER#{id}"), "SHIPMENT")
    }

    pub fn purchase(user: &UserId, product: &ProductId) -> (String, String) {
        (format!("USER#{user}"), format!("PURCHASED#{product}"))
    }

    pub fn review(product: &ProductId, user: &UserId) -> (String, String) {
        (format!("PRODUCT#{product}"), format!("REVIEW#{user}"))
    }

    pub fn product_reviews(product: &ProductId) -> String {
        format!("REVIEWS#{product}")
    }

    pub fn reviewer(user: &UserId) -> String {
        format!("REVIEWER#{user}")
    }

    pub fn idempotency(user: &UserId, key: &str) -> (String, &'static str) {
        (format!("IDEMPOTENCY#{user}#{key}"), "RECORD")
    }

    pub const CATALOG: &str = "CATALOG";
    pub const PENDING: &str = "PENDING";

    pub fn category(category: &Category) -> String {
        format!("CATEGORY#{}", category.as_str())
    }

    pub fn user_orders(user: &UserId) -> String {
        format!("USER#{user}")
    }

    /// Sort key of a listing ordered by time, ties broken by id.
    pub fn by_time(at: Timestamp, id: &impl std::fmt::Display) -> String {
        format!("{at}#{id}")
    }

    pub const ORDER_PREFIX: &str = "ORDER#";
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key<S: Into<String>>((pk, sk): (String, S)) -> Item {
    HashMap::from([(PARTITION_KEY.to_owned(), s(pk)), (SORT_KEY.to_owned(), s(sk))])
}

/// One page of a query on a GSI, newest first.
///
/// Fetches one item more than `limit` to know whether a next page exists;
/// the cursor is the key of the page's last item, authenticated for `scope`.
struct PageQuery<'a> {
    gsi: &'a Gsi,
    partition: String,
    sort_prefix: Option<&'a str>,
    scope: String,
    limit: usize,
    cursor: Option<&'a str>,
}

impl Store {
    async fn query_page(
        &self,
        secret: &Secret,
        q: PageQuery<'_>,
    ) -> Result<(Vec<Item>, Option<String>), crate::Error> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.gsi.name)
            .scan_index_forward(false)
            .limit(i32::try_from(q.limit + 1).unwrap_or(i32::MAX))
            .expression_attribute_names("#pk", q.gsi.partition_key)
            .expression_attribute_values(":pk", s(q.partition.clone()));
        request = match q.sort_prefix {
            Some(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", q.gsi.sort_key)
                .expression_attribute_values(":prefix", s(prefix)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        if let Some(cursor) = q.cursor {
            let key = cursor::decode(secret, &q.scope, cursor)?;
            // The tag binds the cursor to this listing; check the key anyway.
            if key.get(q.gsi.partition_key) != Some(&q.partition) || key.len() != 4 {
                return Err(crate::Error::invalid(
                    "cursor",
                    "is not a valid cursor for this listing",
                ));
            }
            request =
                request.set_exclusive_start_key(Some(key.into_iter().map(|(k, v)| (k, s(v))).collect()));
        }
        let mut items = request.send().await?.items.unwrap_or_default();
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            let last = items
                .last()
                .ok_or_else(|| crate::Error::internal("a page without items"))?;
            let key: cursor::Key = [PARTITION_KEY, SORT_KEY, q.gsi.partition_key, q.gsi.sort_key]
                .into_iter()
                .filter_map(|name| match last.get(name) {
                    Some(AttributeValue::S(value)) => Some((name.to_owned(), value.clone())),
                    _ => None,
                })
                .collect();
            Some(cursor::encode(secret, &q.scope, &key))
        } else {
            None
        };
        Ok((items, next))
    }
}

/// Whether a transaction was cancelled, and why, item by item.
fn cancellation_codes<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<String>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Transactions that lose a race to another writer are retried this often.
const MAX_TRANSACTION_ATTEMPTS: u32 = 8;

impl Store {
    /// Runs a transaction, retrying it (with backoff) while it only loses
    /// races to other transactions. `Ok(Err(codes))` when a condition failed:
    /// the cancellation reasons, item by item, for the caller to read.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Result<(), Vec<String>>, crate::Error> {
        for attempt in 0..MAX_TRANSACTION_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            let Some(codes) = cancellation_codes(&err) else {
                return Err(err.into());
            };
            if codes.iter().any(|code| code == "ConditionalCheckFailed") {
                return Ok(Err(codes));
            }
            tracing::debug!(?codes, attempt, "transaction lost a race; retrying");
            backoff(attempt).await;
        }
        Err(crate::Error::Unavailable(
            "a write kept losing races to other writers".into(),
        ))
    }
}

/// Jittered exponential backoff before retry `attempt` of a transaction that
/// lost a conflict.
async fn backoff(attempt: u32) {
    let cap = 10u64 << attempt.min(5);
    tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(cap / 2..=cap))).await;
}

/// An SDK builder's result, its (programming) error as an internal one.
fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, crate::Error> {
    result.map_err(|err| crate::Error::internal(err.to_string()))
}

/// An item with its key attributes set, from any serialisable record.
fn item<T: serde::Serialize, S: Into<String>>(
    (pk, sk): (String, S),
    record: &T,
) -> Result<Item, crate::Error> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    item.insert(PARTITION_KEY.to_owned(), s(pk));
    item.insert(SORT_KEY.to_owned(), s(sk));
    Ok(item)
}
