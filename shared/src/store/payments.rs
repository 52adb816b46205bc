//! Payment items (`ORDER#<id>` / `PAYMENT`): the payment and the marks of
//! which hand-offs have gone through.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde::{Deserialize, Serialize};

use super::orders::{status_change, update};
use super::{GSI2, Store, item, key, keys, s};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::orders::{Order, OrderId, OrderStatus};
use crate::payments::{Payment, PaymentStatus};
use crate::queue::QueueKind;

/// A payment with what only the shop needs to know about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub payment: Payment,
    /// When `payment_confirmed` reached the shipping queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_handoff_at: Option<Timestamp>,
    /// When `refund_requested` reached the refunds queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_handoff_at: Option<Timestamp>,
    /// The payment succeeded after the order had been cancelled.
    #[serde(default)]
    pub paid_late: bool,
    /// Set when a refund is asked for: whether it gives the stock back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_restock: Option<bool>,
    /// The provider's refund, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Why the provider refused the refund, for an operator to look at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_error: Option<String>,
}

impl Store {
    pub async fn get_payment(&self, order: &OrderId) -> Result<Option<PaymentRecord>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// Stores a new payment; `false` if the order has one already.
    pub async fn put_payment(&self, payment: &Payment) -> Result<bool, Error> {
        let record = PaymentRecord {
            payment: payment.clone(),
            shipping_handoff_at: None,
            refund_handoff_at: None,
            paid_late: false,
            refund_restock: None,
            refund_id: None,
            refund_error: None,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(keys::payment(&payment.order_id), &record)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Marks the payment succeeded and moves the order from its current
    /// status to `to` (`PAID`, or `REFUND_PENDING` for a late payment), in one
    /// transaction conditional on the order's status.
    pub async fn mark_paid(
        &self,
        order: &Order,
        payment: &Payment,
        to: OrderStatus,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, paid_at = :now, updated_at = :now REMOVE expires_at, #g2pk, #g2sk",
        )
        .expression_attribute_names("#g2pk", GSI2.partition_key)
        .expression_attribute_names("#g2sk", GSI2.sort_key);
        // A late payment is refunded in full with no restock (the stock went
        // back when the order was cancelled).
        let late = order.status == OrderStatus::Cancelled;
        let mut payment_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(&payment.order_id))))
            .update_expression(if late {
                "SET #status = :succeeded, paid_late = :late, refund_restock = :no_restock"
            } else {
                "SET #status = :succeeded, paid_late = :late"
            })
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":succeeded",
                serde_dynamo::to_attribute_value(PaymentStatus::Succeeded)?,
            )
            .expression_attribute_values(":late", AttributeValue::Bool(late));
        if late {
            payment_update =
                payment_update.expression_attribute_values(":no_restock", AttributeValue::Bool(false));
        }
        self.transact_status_change(order, vec![update(order_update)?, update(payment_update)?])
            .await
    }

    /// Records that a hand-off message reached its queue.
    pub async fn mark_handoff(&self, order: &OrderId, queue: QueueKind, now: Timestamp) -> Result<(), Error> {
        let attribute = match queue {
            QueueKind::Shipping => "shipping_handoff_at",
            QueueKind::Refunds => "refund_handoff_at",
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression(format!("SET {attribute} = :now"))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await?;
        Ok(())
    }
}
