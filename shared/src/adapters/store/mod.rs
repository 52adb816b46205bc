//! The single DynamoDB table: keys, item mapping, conditional writes and
//! transactions. No other module builds a key or an expression, and within
//! the store every expression is built by [`expr`] (no expression text is
//! written by hand).
//!
//! | item | PK | SK |
//! | --- | --- | --- |
//! | user profile and password hash | `USER#<id>` | `PROFILE` |
//! | email → user id (uniqueness) | `EMAIL#<email>` | `EMAIL` |
//! | login attempts in the current window, per client address and in all | `LOGIN#<email>#<address>`, `LOGIN#<email>` | `ATTEMPTS` (TTL) |
//! | login attempts from one address (any email), with one device token; sign-ups from one address | `LOGINS_FROM#<address>`, `DEVICE#<device>`, `REGISTRATIONS_FROM#<address>` | `ATTEMPTS` (TTL) |
//! | a user's count of orders awaiting payment | `USER#<id>` | `UNPAID` |
//! | product: what it is (listed in the catalogue's indexes) | `PRODUCT#<id>` | `PRODUCT` |
//! | its counter k (0..16): stock and rating totals (price, withdrawal mirrored) | `PRODUCT#<id>#STOCK#<k>` | `STOCK` |
//! | order, its lines inside | `ORDER#<id>` | `ORDER` |
//! | its payment | `ORDER#<id>` | `PAYMENT` |
//! | its payment's dispute, listed for admins | `ORDER#<id>` | `DISPUTE` |
//! | provider intent → order | `INTENT#<provider id>` | `INTENT` |
//! | a webhook event handled (deduplication) | `EVENT#<provider event id>` | `EVENT` (TTL) |
//! | its shipment, events inside (shipment id = order id) | `ORDER#<id>` | `SHIPMENT` |
//! | a product a user has had delivered | `USER#<id>` | `PURCHASED#<product>` |
//! | a user's review of a product (one, by key) | `REVIEW#<product>#<user>` | `REVIEW` |
//! | idempotency record | `IDEMPOTENCY#<user>#<key>` | `RECORD` (TTL) |
//! | a market (listed in GSI1 `MARKETS`) | `MARKET#<code>` | `MARKET` |
//! | a country's market (one at most) | `COUNTRY#<CC>` | `MARKET` |
//! | the exchange rates (all in one) | `FX#RATES` | `FX` |
//! | a customer's cart (lines, address, method, codes, version) | `CART#<user>` | `CART` |
//! | a country's tax rates (listed in GSI1 `TAXRATES`) | `TAXRATES#<CC>` | `TAX` |
//! | a country's duty rule (listed in GSI1 `DUTYRATES`) | `DUTYRATES#<CC>` | `DUTY` |
//! | a verification or reset token (the token's SHA-256; used once; TTL) | `TOKEN#<sha256>` | `TOKEN` |
//! | password-reset requests per email and per address | `RESETS#<email>`, `RESETS_FROM#<address>` | `ATTEMPTS` (TTL) |
//! | a "someone tried to sign up" notice, one per email per window | `SIGNUP_NOTICE#<email>#<window>` | `NOTICE` (TTL) |
//! | a notification sent once: a change's email or event (listed in GSI1 `NOTIFY#claimed#<000..255>` while not done) | `NOTIFY#<channel>#<event id>` | `CLAIM` (TTL) |
//! | an address no email goes to (bounced, complained) | `SUPPRESSED#<email>` | `SUPPRESSED` |
//! | a day's sales figures in one currency, in one of 64 shards (by order id) | `SALES#<00..63>` | `<YYYY-MM-DD>#<currency>` |
//! | an order change added to the sales figures (once) | `SALES_APPLIED#<order>#<seq>` | `APPLIED` (TTL) |
//! | a day that has orders (the admins' order search walks these) | `ORDER_DAYS` | `<YYYY-MM-DD>` |
//! | a word of a product for sale, where it has it, its category (search) | `SEARCH#<first two characters>` | `<word>#<product id>` |
//!
//! | index | PK | SK | holds |
//! | --- | --- | --- | --- |
//! | GSI1 | `CATALOG` | `<created_at>#<id>` | products for sale |
//! | GSI1 | `USER#<id>` | `ORDER#<created_at>#<id>` | a user's orders |
//! | GSI2 | `CATEGORY#<c>` | `<created_at>#<id>` | products for sale by category |
//! | GSI2 | `PENDING#<00..63>` (by order id) | `<expires_at>#<id>` | orders awaiting payment |
//! | GSI2 | `OWED#<00..15>` (by order id) | `<since>#<order>` | payments owing a hand-off to a queue |
//! | GSI1 | `REFUSED_REFUNDS` | `<at>#<order>` | payments whose refund the provider refused |
//! | GSI1 | `DISPUTES` | `<at>#<order>` | disputed payments |
//! | GSI1 | `REVIEWS#<product>` | `<created_at>#<id>` | a product's reviews |
//! | GSI2 | `REVIEWER#<user>` | `<created_at>#<id>` | a user's reviews |
//! | GSI1 | `MARKETS` | `<code>` | every market |
//! | GSI1 | `TAXRATES`, `DUTYRATES` | `<CC>` | tax rates and duty rules an admin set |
//! | GSI3 | `ORDERS#<YYYY-MM-DD>#<00..31>` (creation day; by order id) | `<created_at>#<id>` | every order, for the back office (keys, `status`, `market`) |
//! | GSI3 | `CUSTOMERS#<00..15>` (by user id) | `<created_at>#<id>` | every account, for the back office (keys only) |

mod back_office;
mod carts;
mod expr;
mod fx;
mod idempotency;
mod markets;
mod notifications;
mod orders;
mod payments;
mod products;
mod promotions;
mod refunds;
mod reports;
mod reviews;
mod schema;
mod search;
mod shipping;
mod tax;
mod users;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::{PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use self::expr::{Changes, Conditional, Keyed, Updates, attr};
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::foundation::secret::Secret;
use crate::model::orders::{Order, OrderStatus};

pub use back_office::OrderFilter;
pub use carts::CartWrite;
pub use fx::StoredRates;
pub use markets::MarketWrite;
pub use notifications::{Claim, Claimed, Pending, TableChange};
pub use orders::Placement;
pub use payments::DisputedOrder;
pub use products::Patched;
pub use promotions::PromotionWrite;
pub use schema::{
    GSI1, GSI2, GSI3, GSIS, Gsi, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, create_table, delete_table,
};
pub use search::Posting;

type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    /// The client for the table: the SDK's standard retries (throttling,
    /// transient faults, and conflicts with transactions) with five attempts
    /// and at most a second between them, well inside a function's deadline.
    ///
    /// Every retry is safe: a transaction carries the `ClientRequestToken`
    /// the SDK generates once per call, so a retry of one that committed
    /// (its answer lost) succeeds without applying twice; every single-item
    /// write is conditional, or sets values rather than adding to them.
    pub fn client_for(aws: &aws_config::SdkConfig) -> Client {
        Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(aws)
                .retry_config(crate::adapters::retries())
                .retry_classifier(RetryConflicts)
                .interceptor(crate::adapters::calls::Recorder)
                .build(),
        )
    }

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

/// `TransactionConflictException`: a single-item write met an item that a
/// transaction holds; nothing was written. The SDK does not retry it by
/// default; DynamoDB's guidance is to retry it like throttling.
#[derive(Debug, Clone, Copy)]
struct RetryConflicts;

impl ClassifyRetry for RetryConflicts {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let conflict = ctx.response().is_some_and(|response| {
            response.status().as_u16() == 400
                && response.body().bytes().is_some_and(|body| {
                    body.windows(CONFLICT.len())
                        .any(|window| window == CONFLICT.as_bytes())
                })
        });
        if conflict {
            RetryAction::throttling_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "TransactionConflictException"
    }
}

const CONFLICT: &str = "TransactionConflictException";

/// Key builders: the only place that knows how keys are spelt.
mod keys {
    use crate::foundation::clock::Timestamp;
    use crate::foundation::ids::{OrderId, ProductId, ShipmentId, UserId};
    use crate::foundation::money::Currency;
    use crate::model::auth::DeviceId;
    use crate::model::markets::MarketCode;
    use crate::model::payments::{ProviderPaymentId, WebhookEventId};
    use crate::model::products::Category;
    use crate::model::reports::Day;
    use crate::model::users::{ClientAddress, CountryCode, Email};

    pub fn user(id: &UserId) -> (String, &'static str) {
        (format!("USER#{id}"), "PROFILE")
    }

    pub fn email(email: &Email) -> (String, &'static str) {
        (format!("EMAIL#{}", email.as_str()), "EMAIL")
    }

    /// How many orders a user has awaiting payment (hoarding limit).
    pub fn unpaid_orders(user: &UserId) -> (String, &'static str) {
        (format!("USER#{user}"), "UNPAID")
    }

    /// Login attempts for an email: from one client address, or (`None`)
    /// from every address together.
    pub fn login_attempts(email: &Email, client: Option<&ClientAddress>) -> (String, &'static str) {
        match client {
            Some(client) => (format!("LOGIN#{}#{client}", email.as_str()), "ATTEMPTS"),
            None => (format!("LOGIN#{}", email.as_str()), "ATTEMPTS"),
        }
    }

    /// Logins from one client address, whatever the email.
    pub fn address_logins(client: &ClientAddress) -> (String, &'static str) {
        (format!("LOGINS_FROM#{client}"), "ATTEMPTS")
    }

    /// Logins presenting one device token (its device id: 32 hex digits,
    /// read only from a token whose signature verified).
    pub fn device_logins(device: &DeviceId) -> (String, &'static str) {
        (format!("DEVICE#{}", device.as_str()), "ATTEMPTS")
    }

    /// Sign-ups from one client address.
    pub fn registrations(client: &ClientAddress) -> (String, &'static str) {
        (format!("REGISTRATIONS_FROM#{client}"), "ATTEMPTS")
    }

    /// Password-reset requests for one email, and from one address.
    pub fn reset_requests(email: &Email) -> (String, &'static str) {
        (format!("RESETS#{}", email.as_str()), "ATTEMPTS")
    }

    pub fn reset_requests_from(client: &ClientAddress) -> (String, &'static str) {
        (format!("RESETS_FROM#{client}"), "ATTEMPTS")
    }

    /// A verification or reset token, by its SHA-256 (64 hex digits).
    pub fn account_token(digest: &str) -> (String, &'static str) {
        (format!("TOKEN#{digest}"), "TOKEN")
    }

    /// The notice to an email's owner that someone tried to sign up with
    /// it: one per email per 15-minute window.
    pub fn signup_notice(email: &Email, window: i64) -> (String, &'static str) {
        (format!("SIGNUP_NOTICE#{}#{window}", email.as_str()), "NOTICE")
    }

    pub const PRODUCT_SK: &str = "PRODUCT";
    pub const STOCK_SK: &str = "STOCK";

    pub fn product(id: &ProductId) -> (String, &'static str) {
        (format!("PRODUCT#{id}"), PRODUCT_SK)
    }

    /// A product's counter, in a partition of its own: a hot product's
    /// orders and reviews spread over its counters' partitions, and its own
    /// partition is only read.
    pub fn stock_counter(id: &ProductId, counter: u8) -> (String, &'static str) {
        (format!("PRODUCT#{id}#STOCK#{counter}"), STOCK_SK)
    }

    pub fn order(id: &OrderId) -> (String, &'static str) {
        (format!("ORDER#{id}"), "ORDER")
    }

    /// A change's notification on one channel (`email`, `bus`). The event
    /// id is made by the model (`order-<uuid>-<n>`: no `#`).
    pub fn notification(channel: &str, event_id: &str) -> (String, &'static str) {
        (format!("NOTIFY#{channel}#{event_id}"), "CLAIM")
    }

    /// Notifications claimed and not done, spread over shards by their
    /// event id (a busy hour's claims would otherwise all write one index
    /// partition), oldest first in each.
    pub const NOTIFY_SHARDS: u32 = 256;

    pub fn notifications_shard(shard: u32) -> String {
        format!("NOTIFY#claimed#{shard:03}")
    }

    pub fn notifications_claimed(channel: &str, event_id: &str) -> String {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(format!("{channel}#{event_id}").as_bytes());
        notifications_shard(u32::from(u16::from_be_bytes([hash[0], hash[1]])) % NOTIFY_SHARDS)
    }

    pub fn suppressed(email: &Email) -> (String, &'static str) {
        (format!("SUPPRESSED#{}", email.as_str()), "SUPPRESSED")
    }

    pub fn payment(order: &OrderId) -> (String, &'static str) {
        (format!("ORDER#{order}"), "PAYMENT")
    }

    pub fn dispute(order: &OrderId) -> (String, &'static str) {
        (format!("ORDER#{order}"), "DISPUTE")
    }

    /// The order a provider's payment (Stripe's PaymentIntent) pays for.
    pub fn intent(provider_payment_id: &ProviderPaymentId) -> (String, &'static str) {
        (format!("INTENT#{provider_payment_id}"), "INTENT")
    }

    /// A provider's webhook event, once handled.
    pub fn webhook_event(id: &WebhookEventId) -> (String, &'static str) {
        (format!("EVENT#{id}"), "EVENT")
    }

    /// Disputed payments, for admins (rare: one partition).
    pub const DISPUTES: &str = "DISPUTES";

    pub fn shipment(id: &ShipmentId) -> (String, &'static str) {
        (format!("ORDER#{id}"), "SHIPMENT")
    }

    pub fn purchase(user: &UserId, product: &ProductId) -> (String, String) {
        (format!("USER#{user}"), format!("PURCHASED#{product}"))
    }

    /// A review in a partition of its own (a product's reviews do not
    /// crowd its partition); the key allows one per user and product.
    pub fn review(product: &ProductId, user: &UserId) -> (String, &'static str) {
        (format!("REVIEW#{product}#{user}"), "REVIEW")
    }

    pub fn product_reviews(product: &ProductId) -> String {
        format!("REVIEWS#{product}")
    }

    pub fn reviewer(user: &UserId) -> String {
        format!("REVIEWER#{user}")
    }

    pub fn idempotency(user: &UserId, key: &str) -> (String, &'static str) {
        (format!("IDEMPOTENCY#{user}#{}", free_text(key)), "RECORD")
    }

    /// A key part a client chose freely (an `Idempotency-Key`), with `%`
    /// and `#` percent-encoded: it can hold no separator, so no two
    /// distinct values give one key part, and no value gives another
    /// key's shape. Every other part a request supplies is validated to
    /// hold no `#`: emails (`Email`), categories (`[a-z0-9-]`), provider
    /// ids (`[A-Za-z0-9_-]`), ids (UUIDs) and client addresses (parsed IPs).
    pub fn free_text(part: &str) -> std::borrow::Cow<'_, str> {
        if part.contains(['%', '#']) {
            part.replace('%', "%25").replace('#', "%23").into()
        } else {
            part.into()
        }
    }

    pub fn cart(user: &UserId) -> (String, &'static str) {
        (format!("CART#{user}"), "CART")
    }

    pub fn market(code: &MarketCode) -> (String, &'static str) {
        (format!("MARKET#{}", code.as_str()), "MARKET")
    }

    /// Every exchange rate, in one item.
    pub fn fx_rates() -> (String, &'static str) {
        ("FX#RATES".to_owned(), "FX")
    }

    /// Which market holds a country (one at most: the claim's key).
    pub fn country_claim(country: &CountryCode) -> (String, &'static str) {
        (format!("COUNTRY#{}", country.as_str()), "MARKET")
    }

    /// Every market, listed in one index partition (few, rarely written).
    pub const MARKETS: &str = "MARKETS";

    pub fn tax_rates(country: &CountryCode) -> (String, &'static str) {
        (format!("TAXRATES#{}", country.as_str()), "TAX")
    }

    pub fn promotion(id: &str) -> (String, &'static str) {
        (format!("PROMOTION#{id}"), "PROMOTION")
    }

    /// Which promotion holds a code (one at most: the claim's key).
    pub fn promotion_code(code: &str) -> (String, &'static str) {
        (format!("PROMOCODE#{code}"), "PROMOTION")
    }

    /// One of the counters a promotion's uses are spread over.
    pub fn promotion_uses(id: &str, counter: u8) -> (String, &'static str) {
        (format!("PROMOTION#{id}#USES#{counter:02}"), "USES")
    }

    /// One customer's uses of a promotion.
    pub fn promotion_customer(id: &str, user: &UserId) -> (String, &'static str) {
        (format!("PROMOTION#{id}#CUSTOMER#{user}"), "USES")
    }

    /// Every promotion, listed in one index partition.
    pub const PROMOTIONS: &str = "PROMOTIONS";

    pub fn duty_rates(country: &CountryCode) -> (String, &'static str) {
        (format!("DUTYRATES#{}", country.as_str()), "DUTY")
    }

    /// Tax rates and duty rules, each listed in one index partition (at
    /// most one item per country, rarely written).
    pub const TAX_RATES: &str = "TAXRATES";
    pub const DUTY_RATES: &str = "DUTYRATES";

    pub const CATALOG: &str = "CATALOG";

    /// Orders awaiting payment are indexed over this many partitions (by
    /// their id), so that placing and paying orders spreads its index
    /// writes; the expiry sweep reads every shard.
    pub const PENDING_SHARDS: u32 = 64;

    pub fn pending_shard(shard: u32) -> String {
        format!("PENDING#{shard:02}")
    }

    pub fn pending(order: &OrderId) -> String {
        // The last bits of a UUID v7 are random.
        let shard = u32::try_from(order.uuid().as_u128() % u128::from(PENDING_SHARDS)).unwrap_or(0);
        pending_shard(shard)
    }

    /// Payments owing a hand-off (a message not yet on its queue), over
    /// this many partitions by order id; the reconciler reads every shard.
    pub const OWED_SHARDS: u32 = 16;

    pub fn owed_shard(shard: u32) -> String {
        format!("OWED#{shard:02}")
    }

    pub fn owed_handoff(order: &OrderId) -> String {
        let shard = u32::try_from(order.uuid().as_u128() % u128::from(OWED_SHARDS)).unwrap_or(0);
        owed_shard(shard)
    }

    /// Refunds the provider refused for good, for an operator (rare: one
    /// partition).
    pub const REFUSED_REFUNDS: &str = "REFUSED_REFUNDS";

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

    /// Sales figures are kept over this many partitions (by order id):
    /// a launch day's changes spread their writes; a report reads each.
    pub const SALES_SHARDS: u32 = 64;

    pub fn sales_shard(shard: u32) -> String {
        format!("SALES#{shard:02}")
    }

    pub fn sales(order: &OrderId, day: Day, currency: Currency) -> (String, String) {
        let shard = u32::try_from(order.uuid().as_u128() % u128::from(SALES_SHARDS)).unwrap_or(0);
        (sales_shard(shard), format!("{day}#{}", currency.as_str()))
    }

    /// The mark that change `seq` of an order is in the sales figures.
    pub fn sales_applied(order: &OrderId, seq: u64) -> (String, &'static str) {
        (format!("SALES_APPLIED#{order}#{seq}"), "APPLIED")
    }

    /// Every order, for the back office, by its creation day over this
    /// many shards (by id): a launch day's orders spread their index
    /// writes; a search reads each shard of each day it walks.
    pub const ORDER_SEARCH_SHARDS: u32 = 32;

    pub fn order_search_shard(day: Day, shard: u32) -> String {
        format!("ORDERS#{day}#{shard:02}")
    }

    pub fn order_search(order: &OrderId, created_at: Timestamp) -> String {
        let shard = u32::try_from(order.uuid().as_u128() % u128::from(ORDER_SEARCH_SHARDS)).unwrap_or(0);
        order_search_shard(Day::of(created_at), shard)
    }

    /// Every customer, for the back office, over this many shards (by id).
    pub const CUSTOMER_SHARDS: u32 = 16;

    pub fn customers_shard(shard: u32) -> String {
        format!("CUSTOMERS#{shard:02}")
    }

    pub fn customers(user: &UserId) -> String {
        let shard = u32::try_from(user.uuid().as_u128() % u128::from(CUSTOMER_SHARDS)).unwrap_or(0);
        customers_shard(shard)
    }

    /// A day that has orders: one partition, written about once per
    /// stream shard a day (the indexer remembers what it noted).
    pub fn order_day(day: Day) -> (String, String) {
        ("ORDER_DAYS".to_owned(), day.to_string())
    }
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
    ) -> Result<(Vec<Item>, Option<String>), Error> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.gsi.name)
            .scan_index_forward(false);
        let partition = attr(q.gsi.partition_key).eq(s(q.partition.clone()));
        let request = request.keys(match q.sort_prefix {
            Some(prefix) => partition.and(attr(q.gsi.sort_key).begins_with(s(prefix))),
            None => partition,
        });
        let mut start = None;
        if let Some(cursor) = q.cursor {
            let key = cursor::decode(secret, &q.scope, cursor)?;
            // The tag binds the cursor to this listing; check the key anyway.
            if key.get(q.gsi.partition_key) != Some(&q.partition) || key.len() != 4 {
                return Err(Error::invalid("cursor", "is not a valid cursor for this listing"));
            }
            start = Some(key.into_iter().map(|(k, v)| (k, s(v))).collect());
        }
        // A query page stops at 1 MB: follow `LastEvaluatedKey` until the
        // page is full (one item more than asked, to know if more follow)
        // or the index ends, so that large items never cut a listing short.
        let mut items: Vec<Item> = Vec::new();
        loop {
            let wanted = q.limit + 1 - items.len();
            let output = request
                .clone()
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(key) if items.len() <= q.limit => start = Some(key),
                _ => break,
            }
        }
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            let last = items
                .last()
                .ok_or_else(|| Error::internal("a page without items"))?;
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

/// A query of one partition of an index: oldest first, below a bound of its
/// sort key, or newest first; a page at a time.
struct IndexQuery<'a> {
    gsi: &'a Gsi,
    partition: String,
    below: Option<String>,
    newest_first: bool,
    limit: usize,
    start: Option<Item>,
}

impl Store {
    /// One page of an [`IndexQuery`], and where the next starts.
    async fn query_index(&self, q: IndexQuery<'_>) -> Result<(Vec<Item>, Option<Item>), Error> {
        let partition = attr(q.gsi.partition_key).eq(s(q.partition));
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.gsi.name)
            .keys(match q.below {
                Some(bound) => partition.and(attr(q.gsi.sort_key).lt(s(bound))),
                None => partition,
            })
            .scan_index_forward(!q.newest_first)
            .limit(i32::try_from(q.limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(q.start)
            .send()
            .await?;
        Ok((
            output.items.unwrap_or_default(),
            output.last_evaluated_key.filter(|key| !key.is_empty()),
        ))
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

impl Store {
    /// Runs a transaction, retrying it (with backoff) while it only loses
    /// races to other transactions. `Ok(Err(codes))` when a condition failed:
    /// the cancellation reasons, item by item, for the caller to read.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Result<(), Vec<String>>, Error> {
        for attempt in 0..MAX_ATTEMPTS {
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
        Err(Error::Unavailable(
            "a write kept losing races to other writers".into(),
        ))
    }
}

// ---------------------------------------------------------------- building blocks

/// How a read sees the table: every write before it, or possibly a moment
/// behind (half the capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Strong,
    Eventual,
}

impl Store {
    /// One item by key.
    async fn get<S: Into<String>>(&self, item_key: (String, S), read: Read) -> Result<Option<Item>, Error> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(item_key)))
            .consistent_read(read == Read::Strong)
            .send()
            .await?
            .item)
    }

    /// Puts `record` if `condition` holds (one `PutItem`): whether it did.
    async fn put_if(&self, record: Item, condition: expr::Condition) -> Result<bool, Error> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .when(condition)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_conditional_failure(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Writes `changes` to the item at `item_key` if their condition holds
    /// (one `UpdateItem`): whether it did.
    async fn update_if<S: Into<String>>(
        &self,
        item_key: (String, S),
        changes: Changes,
    ) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(item_key)))
            .changes(changes)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_conditional_failure(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Writes `changes` to the item at `item_key`, which must exist (one
    /// `UpdateItem`; its condition failing is an error like any other).
    async fn update_existing<S: Into<String>>(
        &self,
        item_key: (String, S),
        changes: Changes,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(item_key)))
            .changes(changes.when(attr(PARTITION_KEY).exists()))
            .send()
            .await?;
        Ok(())
    }

    /// The newest `limit` items of one partition of an index, as `T`s.
    async fn newest<T: serde::de::DeserializeOwned>(
        &self,
        gsi: &Gsi,
        partition: &str,
        limit: usize,
    ) -> Result<Vec<T>, Error> {
        let (items, _) = self
            .query_index(IndexQuery {
                gsi,
                partition: partition.to_owned(),
                below: None,
                newest_first: true,
                limit,
                start: None,
            })
            .await?;
        items
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect()
    }

    /// One item by key, as a `T`.
    async fn get_as<T: serde::de::DeserializeOwned, S: Into<String>>(
        &self,
        item_key: (String, S),
        read: Read,
    ) -> Result<Option<T>, Error> {
        Ok(self
            .get(item_key, read)
            .await?
            .map(serde_dynamo::from_item)
            .transpose()?)
    }

    /// An order's status change from its current status to `to` at `now`
    /// (its `updated_at`), with `changes` besides, conditional on the
    /// current status (and on whatever `changes` require).
    fn status_change(
        &self,
        order: &Order,
        to: OrderStatus,
        now: Timestamp,
        changes: Changes,
    ) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(&order.id))))
            .changes(
                changes
                    .set("status", s(to.as_str()))
                    .set("updated_at", s(now.to_string()))
                    // The change's number: what its event and email are
                    // sent once under (model::events).
                    .add("event_seq", n(1))
                    .when(attr("status").eq(s(order.status.as_str()))),
            )
    }

    /// An order's status change out of `PENDING_PAYMENT` (to `to`, with
    /// `changes` besides): its expiry goes, and so do its keys in the index
    /// of orders awaiting payment.
    fn leave_pending(
        &self,
        order: &Order,
        to: OrderStatus,
        now: Timestamp,
        changes: Changes,
    ) -> UpdateBuilder {
        self.status_change(
            order,
            to,
            now,
            changes
                .remove("expires_at")
                .remove(GSI2.partition_key)
                .remove(GSI2.sort_key),
        )
    }

    /// An update of an order's existing payment record.
    fn payment_update(&self, order: &OrderId, changes: Changes) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .changes(changes.when(attr(PARTITION_KEY).exists()))
    }
}

/// A transaction's update item.
fn update(builder: UpdateBuilder) -> Result<TransactWriteItem, Error> {
    Ok(TransactWriteItem::builder()
        .update(built(builder.build())?)
        .build())
}

/// A transaction's put item.
fn put(builder: PutBuilder) -> Result<TransactWriteItem, Error> {
    Ok(TransactWriteItem::builder().put(built(builder.build())?).build())
}

/// Whether a single-item write (of any operation) failed its condition.
fn is_conditional_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

/// An SDK builder's result, its (programming) error as an internal one.
fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, Error> {
    result.map_err(|err| Error::internal(err.to_string()))
}

/// An item with its key attributes set, from any serialisable record.
fn item<T: serde::Serialize, S: Into<String>>((pk, sk): (String, S), record: &T) -> Result<Item, Error> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    item.insert(PARTITION_KEY.to_owned(), s(pk));
    item.insert(SORT_KEY.to_owned(), s(sk));
    Ok(item)
}

/// Error codes of DynamoDB that say "not now": throttling, a conflict with
/// a transaction in flight, a fault on AWS's side.
const TRANSIENT_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Whether a failed request is worth retrying later: throttled, conflicting,
/// timed out, or lost on the way.
fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    }
}

// The SDK's failures that retrying later can fix (after the SDK's own
// retries) are `503 SERVICE_UNAVAILABLE` with `Retry-After`; the rest, and
// the item mapper's failures, are internal errors, unless a store method
// has mapped them to an answer first.
impl<E, R> From<SdkError<E, R>> for Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        if is_transient(&err) {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "the table is busy");
            return Self::Unavailable("the table is busy; retry shortly".into());
        }
        // With the service's code and message (an `AccessDeniedException`
        // names the principal and the action): the SDK error's own
        // `Display` says only "service error".
        Self::Internal(
            aws_sdk_dynamodb::error::DisplayErrorContext(&err)
                .to_string()
                .into(),
        )
    }
}

impl From<serde_dynamo::Error> for Error {
    fn from(err: serde_dynamo::Error) -> Self {
        Self::Internal(Box::new(err))
    }
}

#[cfg(test)]
mod key_tests {
    use std::collections::HashMap;

    use super::keys;
    use crate::foundation::ids::UserId;
    use crate::model::users::{ClientAddress, Email};

    /// The launch review's collision: the per-email window of
    /// `victim@example.com#203.0.113.7` was byte for byte the victim's
    /// window at 203.0.113.7. Such an email no longer parses, and over
    /// every email and address tried, no two distinct logical keys meet.
    #[test]
    fn no_two_logical_login_keys_are_equal() {
        assert!(Email::parse("victim@example.com#203.0.113.7".into()).is_err());
        let emails = [
            "victim@example.com",
            "victim@example.com.203.0.113.7",
            "a@b.co",
            "a@b.co.unknown",
            "x%23y@example.com",
            "x@example.com",
        ];
        let addresses = [
            ClientAddress::parse(Some("203.0.113.7")),
            ClientAddress::parse(Some("2001:db8::1")),
            ClientAddress::unknown(),
        ];
        let mut seen: HashMap<String, String> = HashMap::new();
        for email in emails {
            let email = Email::parse(email.into()).expect("valid");
            let email_text = email.as_str().to_owned();
            let mut logical = vec![(
                format!("{email_text} anywhere"),
                keys::login_attempts(&email, None),
            )];
            for address in &addresses {
                logical.push((
                    format!("{email_text} at {address}"),
                    keys::login_attempts(&email, Some(address)),
                ));
            }
            logical.push((
                format!("{email_text}'s claim"),
                (keys::email(&email).0, keys::email(&email).1),
            ));
            for (name, (pk, sk)) in logical {
                let key = format!("{pk}|{sk}");
                if let Some(other) = seen.insert(key.clone(), name.clone()) {
                    panic!("{name} and {other} share the key {key}");
                }
            }
        }
    }

    #[test]
    fn free_text_parts_cannot_forge_another_key() {
        let user = UserId::new();
        let plain = keys::idempotency(&user, "order-1");
        assert_eq!(plain.0, format!("IDEMPOTENCY#{user}#order-1"));
        let keys: Vec<String> = ["a#b", "a%23b", "a%b", "a%25b", "a", "a#", "a%"]
            .iter()
            .map(|k| keys::idempotency(&user, k).0)
            .collect();
        for (i, a) in keys.iter().enumerate() {
            assert_eq!(a.matches('#').count(), 2, "{a}: a separator from the client");
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

    use super::*;

    fn failed(code: &str) -> SdkError<UpdateItemError, ()> {
        SdkError::service_error(
            UpdateItemError::generic(ErrorMetadata::builder().code(code).build()),
            (),
        )
    }

    #[test]
    fn throttling_and_conflicts_are_unavailable_not_internal() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "TransactionConflictException",
        ] {
            assert!(
                matches!(Error::from(failed(code)), Error::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            Error::from(failed("ValidationException")),
            Error::Internal(_)
        ));
        assert!(is_conditional_failure(&failed("ConditionalCheckFailedException")));
        assert!(!is_conditional_failure(&failed("ThrottlingException")));
    }
}
