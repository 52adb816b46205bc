//! Refunds and returns: which refunds give the stock back, and the return
//! window.

use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::input::{Errors, FromJson, Object, bounded_text};
use crate::foundation::status::OrderStatus;

/// A delivered order may be returned for this long.
pub const RETURN_WINDOW_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    pub reason: String,
}

impl FromJson for ReturnRequest {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let reason = o.required("reason", |s| bounded_text(s, 1, 500));
        o.end();
        Some(Self { reason: reason? })
    }
}

/// Whether a refund of an order in `from` gives its stock back: yes when
/// nothing left the warehouse (`PAID`) or it came back (`RETURN_REQUESTED`,
/// received); no once shipped, and no for a late payment (the cancel gave
/// the stock back already).
pub fn restocks_on_refund(from: OrderStatus) -> bool {
    matches!(from, OrderStatus::Paid | OrderStatus::ReturnRequested)
}

/// The earliest delivery that may still be returned at `now`.
pub fn return_window_start(now: Timestamp) -> Timestamp {
    now.plus_secs(-RETURN_WINDOW_SECS)
}

/// Whether an order delivered at `delivered_at` may be returned at `now`.
pub fn within_return_window(delivered_at: Timestamp, now: Timestamp) -> bool {
    now.unix() - delivered_at.unix() <= RETURN_WINDOW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refunds_of_goods_in_the_warehouse_restock() {
        let restocking: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| restocks_on_refund(*s))
            .collect();
        assert_eq!(restocking, [OrderStatus::Paid, OrderStatus::ReturnRequested]);
    }

    #[test]
    fn returns_are_open_for_thirty_days_to_the_second() {
        let delivered = Timestamp::from_unix(1_000_000);
        let last = delivered.plus_secs(RETURN_WINDOW_SECS);
        assert!(within_return_window(delivered, delivered));
        assert!(within_return_window(delivered, last));
        assert!(!within_return_window(delivered, last.plus_secs(1)));
        assert_eq!(return_window_start(last), delivered);
    }
}
