//! The shop's domain crate: everything the Lambda functions have in common.
//!
//! Each function's `main.rs` is thin: it hands a handler to [`http::run`],
//! and the handler parses its input, calls one use case from a domain module
//! ([`users`], ...) and answers.

pub mod auth;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod input;
pub mod money;
mod newtype;
pub mod orders;
pub mod payments;
pub mod products;
pub mod queue;
pub mod refunds;
pub mod reviews;
pub mod runtime;
pub mod shipping;
pub mod store;
pub mod users;
pub mod worker;

pub use config::{App, Config};
pub use error::{Error, FieldError};

/// The error type of entry points and tools.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
