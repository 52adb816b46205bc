//! The carrier port: who sells shipping labels, and the local sandbox.

use std::fmt;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::foundation::error::Error;
use crate::model::orders::Order;
use crate::model::shipping::Label;

/// A carrier that sells shipping labels.
pub trait Carrier: Send + Sync + fmt::Debug {
    /// Buys the label for `order`. Asked twice for one order, a carrier
    /// must answer with the same label (the order id is its idempotency key).
    fn create_label<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Label, Error>>;
}

/// Issues tracking numbers locally, derived from the order.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxCarrier;

impl Carrier for SandboxCarrier {
    fn create_label<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Label, Error>> {
        let digest = Sha256::digest(order.id.to_string().as_bytes());
        let digits: String = digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02}"))
            .collect::<String>();
        Box::pin(async move {
            Ok(Label {
                carrier: "sandbox-post".into(),
                tracking_number: format!("SBX{}", &digits[..12.min(digits.len())]),
            })
        })
    }
}
