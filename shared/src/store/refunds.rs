//! Refund and return writes: each a transaction conditional on the order's
//! status, so that it happens once however many callers race.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::orders::status_change;
use super::{Store, cancellation_codes, key, keys, n, s};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::orders::{Order, OrderId, OrderStatus};
use crate::payments::PaymentStatus;

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, Error> {
    result.map_err(|err| Error::internal(err.to_string()))
}

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
        let order_update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, updated_at = :now",
        );
        let payment_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(&order.id))))
            .update_expression("SET refund_restock = :restock")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":restock", AttributeValue::Bool(restock));
        self.transact_status_change(
            order,
            vec![built(order_update.build())?, built(payment_update.build())?],
        )
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
        let update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, updated_at = :now, return_reason = :reason, return_requested_at = :now",
        )
        .condition_expression("#status = :from AND delivered_at >= :since")
        .expression_attribute_values(":reason", s(reason))
        .expression_attribute_values(":since", s(delivered_since.to_string()));
        self.transact_status_change(order, vec![built(update.build())?])
            .await
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
        let order_update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, updated_at = :now",
        );
        let payment_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(&order.id))))
            .update_expression(
                "SET #status = :refunded, refund_id = :refund, refunded_at = :now REMOVE refund_error",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":refunded",
                serde_dynamo::to_attribute_value(PaymentStatus::Refunded)?,
            )
            .expression_attribute_values(":refund", s(refund_id))
            .expression_attribute_values(":now", s(now.to_string()));
        let mut updates = vec![built(order_update.build())?, built(payment_update.build())?];
        if restock {
            for line in &order.items {
                let restock = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::product(&line.product_id))))
                    .update_expression("ADD stock :q")
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":q", n(line.quantity));
                updates.push(built(restock.build())?);
            }
        }
        self.transact_status_change(order, updates).await
    }

    /// Notes why the provider refused a refund, for an operator.
    pub async fn record_refund_failure(&self, order: &OrderId, reason: &str) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::payment(order))))
            .update_expression("SET refund_error = :reason")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":reason", s(reason))
            .send()
            .await?;
        Ok(())
    }

    /// Runs the updates as one transaction; when its first (the order's
    /// status change) fails its condition, reports the order's status now.
    async fn transact_status_change(&self, order: &Order, updates: Vec<Update>) -> Result<(), Error> {
        let items = updates
            .into_iter()
            .map(|update| TransactWriteItem::builder().update(update).build())
            .collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if cancellation_codes(&err).is_some() => {
                let current = self
                    .get_order(&order.id)
                    .await?
                    .map_or(order.status, |o| o.status);
                Err(Error::InvalidState(current))
            }
            Err(err) => Err(err.into()),
        }
    }
}
