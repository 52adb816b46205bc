//! The shop's domain crate: everything the Lambda functions have in common,
//! in layers, each naming only the ones below it:
//!
//! | layer | holds |
//! | --- | --- |
//! | [`entry`] | the HTTP and worker runners each function's `main.rs` calls |
//! | [`usecases`] | one use case per endpoint or message: read, ask the model, write, hand off |
//! | [`app`] | the composition root: settings and the adapters built from them |
//! | [`adapters`] | DynamoDB, SQS, the payment provider, the carrier: translate, decide nothing |
//! | [`model`] | entities and rules as pure functions |
//! | [`foundation`] | ids, money, time, secrets, the error type, input parsing, cursors |
//!
//! `tests/layers.rs` fails when a module names one above it or a circle appears.

pub mod adapters;
pub mod app;
pub mod entry;
pub mod foundation;
pub mod model;
pub mod usecases;

pub use app::{App, Config};
pub use foundation::error::{BoxError, Error, FieldError};
