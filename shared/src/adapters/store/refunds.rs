//! Refund and return writes: each a transaction conditional on the order's
//! status, so that it happens once however many callers race.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{GSI1, GSI2, IndexQuery, Store, is_conditional_failure, key, keys, s, update};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::model::orders::{Order, OrderStatus};
use crate::model::payments::{PaymentRecord, PaymentStatus};

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
            .owe_handoff(&order.id, now, "refund_restock = :restock")
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

    /// The order moves from its current status to `to` (`REFUNDED`): the
    /// payment is marked refunded and owes nothing any more (no hand-off,
    /// no refused refund listed), and with `restock` every line's stock
    /// comes back, all in one transaction. `refund_id` is our refund's
    /// (the refunds worker's), `None` for one made at the provider (its
    /// dashboard), which the payment records as such.
    pub async fn complete_refund(
        &self,
        order: &Order,
        to: OrderStatus,
        refund_id: Option<&str>,
        restock: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = self.status_change(order, to, now, "SET #status = :to, updated_at = :now");
        let (made, value) = match refund_id {
            Some(id) => ("refund_id", s(id)),
            None => ("refunded_at_provider", AttributeValue::Bool(true)),
        };
        let payment_update = self
            .payment_update(
                &order.id,
                "SET #status = :refunded, #made = :made, refunded_at = :now \
                 REMOVE refund_error, #g1pk, #g1sk, #g2pk, #g2sk",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#made", made)
            .expression_attribute_names("#g1pk", GSI1.partition_key)
            .expression_attribute_names("#g1sk", GSI1.sort_key)
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .expression_attribute_values(
                ":refunded",
                serde_dynamo::to_attribute_value(PaymentStatus::Refunded)?,
            )
            .expression_attribute_values(":made", value)
            .expression_attribute_values(":now", s(now.to_string()));
        let mut items = vec![update(order_update)?, update(payment_update)?];
        if restock {
            items.extend(self.restocks(order)?);
        }
        self.transact_status_change(order, items).await
    }

    /// Notes why the provider refused a refund, and lists the payment among
    /// the refused refunds, for an operator.
    pub async fn record_refund_failure(
        &self,
        order: &OrderId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("SET refund_error = :reason, #g1pk = :refused, #g1sk = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#g1pk", GSI1.partition_key)
            .expression_attribute_names("#g1sk", GSI1.sort_key)
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":refused", s(keys::REFUSED_REFUNDS))
            .expression_attribute_values(":at", s(keys::by_time(now, order)))
            .send()
            .await?;
        Ok(())
    }

    /// The payments whose refund the provider refused, newest first.
    pub async fn refused_refunds(&self, limit: usize) -> Result<Vec<PaymentRecord>, Error> {
        let (items, _) = self
            .query_index(IndexQuery {
                gsi: &GSI1,
                partition: keys::REFUSED_REFUNDS.to_owned(),
                below: None,
                newest_first: true,
                limit,
                start: None,
            })
            .await?;
        items
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect()
    }

    /// Takes a refused refund back for another try: its error and listing
    /// go, and its hand-off is owed again (from `now`), so that the retry's
    /// send, or failing it the reconciler, reaches the refunds queue.
    /// `false` if the refund was not refused (any more).
    pub async fn reopen_refused_refund(&self, order: &OrderId, now: Timestamp) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression(
                "SET #g2pk = :owed, #g2sk = :since ADD refund_attempt :one \
                 REMOVE refund_error, refund_handoff_at, #g1pk, #g1sk",
            )
            .condition_expression("attribute_exists(refund_error)")
            .expression_attribute_names("#g1pk", GSI1.partition_key)
            .expression_attribute_names("#g1sk", GSI1.sort_key)
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .expression_attribute_values(":owed", s(keys::owed_handoff(order)))
            .expression_attribute_values(":since", s(keys::by_time(now, order)))
            .expression_attribute_values(":one", super::n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_conditional_failure(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }
}
