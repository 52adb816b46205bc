//! Refund and return writes: each a transaction conditional on the order's
//! status, so that it happens once however many callers race.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Store, s, update};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::model::orders::{Order, OrderStatus};
use crate::model::payments::PaymentStatus;

impl Store {
    /// Moves the order to `to` (`REFUND_PENDING`) and records on its payment
    /// whether the refund gives the stock back.
    pub async fn request_refund(
        &self,
        order: &Order,
        to: OrderStatus,
        restock: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = self.status_change(order, to, now, "SET #status = :to, updated_at = :now");
        let payment_update = self
            .payment_update(&order.id, "SET refund_restock = :restock")
            .expression_attribute_values(":restock", AttributeValue::Bool(restock));
        self.transact_status_change(order, vec![update(order_update)?, update(payment_update)?])
            .await
    }

    /// `DELIVERED → RETURN_REQUESTED`, if delivered at or after `delivered_since`.
    pub async fn request_return(
        &self,
        order: &Order,
        to: OrderStatus,
        reason: &str,
        delivered_since: Timestamp,
        now: Timestamp,
    ) -> Result<(), Error> {
        let change = self
            .status_change(
                order,
                to,
                now,
                "SET #status = :to, updated_at = :now, return_reason = :reason, return_requested_at = :now",
            )
            .condition_expression("#status = :from AND delivered_at >= :since")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":since", s(delivered_since.to_string()));
        self.transact_status_change(order, vec![update(change)?]).await
    }

    /// `REFUND_PENDING → REFUNDED`: marks the payment refunded and, with
    /// `restock`, gives every line's stock back, all in one transaction.
    pub async fn complete_refund(
        &self,
        order: &Order,
        to: OrderStatus,
        refund_id: &str,
        restock: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = self.status_change(order, to, now, "SET #status = :to, updated_at = :now");
        let payment_update = self
            .payment_update(
                &order.id,
                "SET #status = :refunded, refund_id = :refund, refunded_at = :now REMOVE refund_error",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":refunded",
                serde_dynamo::to_attribute_value(PaymentStatus::Refunded)?,
            )
            .expression_attribute_values(":refund", s(refund_id))
            .expression_attribute_values(":now", s(now.to_string()));
        let mut items = vec![update(order_update)?, update(payment_update)?];
        if restock {
            items.extend(self.restocks(order)?);
        }
        self.transact_status_change(order, items).await
    }

    /// Notes why the provider refused a refund, for an operator.
    pub async fn record_refund_failure(&self, order: &OrderId, reason: &str) -> Result<(), Error> {
        self.set_on_payment(order, "refund_error", s(reason)).await
    }
}
