//! Payment items (`ORDER#<id>` / `PAYMENT`): the payment and the marks of
//! which hand-offs have gone through.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Read, Store, is_conditional_failure, item, key, keys, s, update};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::model::messages::QueueKind;
use crate::model::orders::{Order, OrderStatus};
use crate::model::payments::{Payment, PaymentRecord, PaymentStatus};

impl Store {
    pub async fn get_payment(&self, order: &OrderId) -> Result<Option<PaymentRecord>, Error> {
        self.get_as(keys::payment(order), Read::Strong).await
    }

    /// Stores a new payment; `false` if the order has one already.
    pub async fn put_payment(&self, record: &PaymentRecord) -> Result<bool, Error> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(keys::payment(&record.payment.order_id), record)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_conditional_failure(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Marks the payment succeeded and moves the order from its current
    /// status to `to`, in one transaction conditional on the order's status.
    /// A `late` payment (the order was cancelled) is recorded as such and
    /// its refund restocks nothing.
    pub async fn mark_paid(
        &self,
        order: &Order,
        payment: &Payment,
        to: OrderStatus,
        late: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = self.leave_pending(order, to, now, "paid_at = :now, updated_at = :now");
        let mut payment_update = self
            .payment_update(
                &payment.order_id,
                if late {
                    "SET #status = :succeeded, paid_late = :late, refund_restock = :no_restock"
                } else {
                    "SET #status = :succeeded, paid_late = :late"
                },
            )
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
        self.set_on_payment(order, attribute, s(now.to_string())).await
    }

    /// Sets one attribute of an order's existing payment record.
    pub(super) async fn set_on_payment(
        &self,
        order: &OrderId,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("SET #attribute = :value")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_values(":value", value)
            .send()
            .await?;
        Ok(())
    }
}
