//! The payment provider port: what the shop asks of a provider, its two
//! implementations (Stripe in production, the sandbox locally), and the
//! verification of the provider's webhook signatures.

mod sandbox;
mod stripe;
pub mod webhook;

use std::fmt;

use futures::future::BoxFuture;

pub use sandbox::SandboxProvider;
pub use stripe::StripeProvider;

use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::foundation::money::{Amount, Currency, Money};
use crate::model::payments::ProviderKind;
use crate::model::payments::ProviderPaymentId;

/// What a provider is asked to collect.
#[derive(Debug, Clone)]
pub struct IntentRequest<'a> {
    pub order_id: &'a OrderId,
    pub amount: Money,
    pub currency: &'a Currency,
    /// Sent as the provider's `Idempotency-Key`: the same order never makes
    /// two intents, however often it is asked.
    pub idempotency_key: String,
}

/// The provider's side of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: ProviderPaymentId,
    pub client_secret: Option<String>,
}

/// What a provider is asked to give back: the whole amount of a payment.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// The order paid for, if the payment names one that exists.
    pub order_id: Option<&'a OrderId>,
    /// The provider's payment (Stripe's PaymentIntent id).
    pub provider_payment_id: &'a ProviderPaymentId,
    /// What to give back, in the payment's currency.
    pub amount: Amount,
    /// Derived from the order, so a retried or duplicated message never
    /// refunds twice.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The payment was refunded already (by an earlier attempt, or by hand).
    #[error("the payment is refunded already")]
    AlreadyRefunded,
    /// The payment is not in a state that allows the request (Stripe's
    /// `payment_intent_unexpected_state`).
    #[error("the payment is not in a state that allows this")]
    UnexpectedState,
    /// Worth retrying: network trouble, rate limits, the provider's 5xx.
    #[error("the payment provider is unavailable: {0}")]
    Transient(String),
    /// Retrying will not help: the provider refused the request.
    #[error("the payment provider refused the request: {0}")]
    Rejected(String),
}

impl From<ProviderError> for Error {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Transient(detail) => Error::Unavailable(detail),
            ProviderError::Rejected(detail) => Error::internal(detail),
            ProviderError::AlreadyRefunded => Error::internal("the payment is refunded already"),
            ProviderError::UnexpectedState => {
                Error::internal("the payment is not in a state that allows this")
            }
        }
    }
}

/// A payment provider (`PAYMENT_PROVIDER`): Stripe in production, the
/// sandbox locally.
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    fn kind(&self) -> ProviderKind;

    fn create_intent<'a>(
        &'a self,
        request: IntentRequest<'a>,
    ) -> BoxFuture<'a, Result<Intent, ProviderError>>;

    /// Cancels a payment that will never be wanted (its order was cancelled
    /// or expired), so that no card can be charged for it any more. One the
    /// provider can no longer cancel (already cancelled, or it succeeded:
    /// then its webhook brings the late payment) is not an error.
    fn cancel_intent<'a>(
        &'a self,
        provider_payment_id: &'a ProviderPaymentId,
        idempotency_key: String,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Refunds a payment in full; returns the provider's refund id.
    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> BoxFuture<'a, Result<String, ProviderError>>;
}
