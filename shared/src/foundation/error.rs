//! The one error type of the domain. Every variant maps to exactly one HTTP
//! status and problem `code`, in `entry::http::problem`.

use serde::Serialize;

use crate::foundation::ids::ProductId;
use crate::foundation::status::OrderStatus;

/// The error type of entry points and tools.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a product cannot be ordered (`reason` of `PRODUCT_UNAVAILABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// It does not exist, or was taken off sale.
    Deleted,
    /// Neither an explicit price nor a rate for the market's currency.
    NoPrice,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Deleted => "deleted",
            Self::NoPrice => "no_price",
        })
    }
}

/// Why a cart cannot be shipped (`409 NOT_SHIPPABLE`, `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotShippable {
    /// No method of the market takes the cart's weight.
    Weight,
    /// The chosen method does not take it (another may), or is gone.
    Method,
    /// A cart checked out without a shipping address.
    Address,
}

impl std::fmt::Display for NotShippable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Weight => "no shipping method takes its weight",
            Self::Method => "the chosen shipping method does not take it",
            Self::Address => "it has no shipping address",
        })
    }
}

/// A line the catalogue could not cover (`409 OUT_OF_STOCK` names each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub product_id: ProductId,
    pub requested: u32,
    pub available: i64,
}

/// One rejected field of a request body, named by its JSON path
/// (`address.country`, `items[0].quantity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request failed validation")]
    Validation(Vec<FieldError>),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("the caller's role does not allow this")]
    Forbidden,
    #[error("no such resource")]
    NotFound,
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("the token is unknown, used or expired")]
    InvalidToken,
    #[error("the account's email is not verified yet")]
    EmailNotVerified,
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("not enough stock for {} line(s)", .0.len())]
    OutOfStock(Vec<Shortage>),
    #[error("product {0} is not for sale ({1})")]
    ProductUnavailable(ProductId, Unavailable),
    #[error("the cart cannot be shipped: {0}")]
    NotShippable(NotShippable),
    #[error("the cart is empty")]
    CartEmpty,
    #[error("a cart holds at most {0} lines")]
    CartFull(usize),
    #[error("If-Match names a version that is no longer current")]
    PreconditionFailed,
    /// The checkout's `expected_total` is not the cart's total now; the
    /// repriced cart (as answered) goes with it.
    #[error("the cart's total changed; check the repriced cart")]
    PriceChanged(Box<serde_json::Value>),
    #[error("the coupon {coupon} does not apply ({reason})")]
    CouponNotApplicable { coupon: String, reason: &'static str },
    #[error("another promotion has the code {0}")]
    CodeTaken(String),
    #[error("the order is {0}, which does not allow this")]
    InvalidState(OrderStatus),
    /// The default market is always there, with its code, currency and
    /// countries: it cannot be deleted (`409 INVALID_STATE`).
    #[error("the default market cannot be deleted")]
    DefaultMarketStays,
    #[error("{country} belongs to the market {market}")]
    CountryInOtherMarket { country: String, market: String },
    /// A product's stock counters only grow (orders give units back to the
    /// counter they took them from): the state of the product, not the
    /// request's form, refuses fewer.
    #[error("the product's stock is spread over {0} counters, and counters are never removed")]
    CountersCannotShrink(u8),
    #[error("at most {max} units of product {product_id} per order")]
    QuantityLimit { product_id: ProductId, max: u32 },
    /// A total the payment provider cannot charge in the order's currency.
    #[error("the total must be from {min} to {max} minor units of its currency to be charged")]
    AmountOutOfRange { min: i64, max: i64 },
    #[error("you have {0} orders awaiting payment; pay or cancel one first")]
    TooManyUnpaidOrders(u32),
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("only a customer who has had the product delivered may review it")]
    NotPurchased,
    #[error("you have reviewed this product already")]
    AlreadyReviewed,
    #[error("the shipment has as many tracking events as it may hold ({0})")]
    TooManyEvents(usize),
    #[error("the webhook signature or timestamp does not verify")]
    InvalidSignature,
    /// A provider event that needs an earlier one's effect first: answered
    /// `409`, so the provider delivers it again later.
    #[error("the event came before one it depends on: {0}")]
    EventOutOfOrder(&'static str),
    /// A dependency (the payment provider, a queue) failed in a way worth
    /// retrying: `503` with `Retry-After`.
    #[error("a service the shop depends on is unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected: a store or network failure, a broken invariant.
    /// Logged in full, answered as a bare 500.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl Error {
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(err.into())
    }

    /// A validation failure of a single field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}
