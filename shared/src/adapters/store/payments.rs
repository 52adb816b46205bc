//! Payment items (`ORDER#<id>` / `PAYMENT`): the payment and the marks of
//! which hand-offs have gone through.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;

use super::{GSI2, IndexQuery, Read, Store, is_conditional_failure, item, key, keys, s, update};
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
            .owe_handoff(
                &payment.order_id,
                now,
                if late {
                    "#status = :succeeded, paid_late = :late, refund_restock = :no_restock"
                } else {
                    "#status = :succeeded, paid_late = :late"
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
        let mut items = vec![update(order_update)?, update(payment_update)?];
        if !late {
            items.push(self.unpaid_order_gone(&order.user_id)?);
        }
        self.transact_status_change(order, items).await
    }

    /// An update of the payment (`SET` `set`) that also records a hand-off
    /// as owed since `now`: the payment enters the index of owed hand-offs,
    /// which the reconciler reads, until [`Self::mark_handoff`].
    pub(super) fn owe_handoff(&self, order: &OrderId, now: Timestamp, set: &str) -> UpdateBuilder {
        self.payment_update(order, format!("SET {set}, #g2pk = :owed, #g2sk = :since"))
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .expression_attribute_values(":owed", s(keys::owed_handoff(order)))
            .expression_attribute_values(":since", s(keys::by_time(now, order)))
    }

    /// Records that a hand-off message reached its queue: the payment
    /// leaves the index of owed hand-offs.
    pub async fn mark_handoff(&self, order: &OrderId, queue: QueueKind, now: Timestamp) -> Result<(), Error> {
        let attribute = match queue {
            QueueKind::Shipping => "shipping_handoff_at",
            QueueKind::Refunds => "refund_handoff_at",
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("SET #attribute = :now REMOVE #g2pk, #g2sk")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await?;
        Ok(())
    }

    /// The orders of one shard whose payment has owed a hand-off since
    /// before `before`, oldest first, at most `limit`.
    pub async fn owed_handoffs(
        &self,
        shard: u32,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<OrderId>, Error> {
        let (items, _) = self
            .query_index(IndexQuery {
                gsi: &GSI2,
                partition: keys::owed_shard(shard),
                below: Some(before.to_string()),
                newest_first: false,
                limit,
                start: None,
            })
            .await?;
        items
            .into_iter()
            .map(|item| {
                Ok(serde_dynamo::from_item::<_, PaymentRecord>(item)?
                    .payment
                    .order_id)
            })
            .collect()
    }

    /// Takes a payment out of the index of owed hand-offs: it owes none
    /// (its order moved on).
    pub async fn clear_owed_handoff(&self, order: &OrderId) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("REMOVE #g2pk, #g2sk")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .send()
            .await?;
        Ok(())
    }

    /// Shards of the index of owed hand-offs.
    pub fn owed_shards(&self) -> u32 {
        keys::OWED_SHARDS
    }
}
