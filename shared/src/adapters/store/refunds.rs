//! Refund and return writes: each a transaction conditional on the order's
//! status, so that it happens once however many callers race.

use aws_sdk_dynamodb::types::AttributeValue;

use super::expr::{Changes, attr};
use super::{GSI1, GSI2, Store, keys, s, update};
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
        let order_update = self.status_change(order, to, now, Changes::new());
        let payment_update = self.owe_handoff(
            &order.id,
            now,
            Changes::new().set("refund_restock", AttributeValue::Bool(restock)),
        );
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
        let change = self.status_change(
            order,
            to,
            now,
            Changes::new()
                .set("return_reason", s(reason))
                .set("return_requested_at", s(now.to_string()))
                .when(attr("delivered_at").ge(s(delivered_since.to_string()))),
        );
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
        let order_update = self.status_change(order, to, now, Changes::new());
        let (made, value) = match refund_id {
            Some(id) => ("refund_id", s(id)),
            None => ("refunded_at_provider", AttributeValue::Bool(true)),
        };
        let payment_update = self.payment_update(
            &order.id,
            Changes::new()
                .set(
                    "status",
                    serde_dynamo::to_attribute_value(PaymentStatus::Refunded)?,
                )
                .set(made, value)
                .set("refunded_at", s(now.to_string()))
                .remove("refund_error")
                .remove(GSI1.partition_key)
                .remove(GSI1.sort_key)
                .remove(GSI2.partition_key)
                .remove(GSI2.sort_key),
        );
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
        self.update_existing(
            keys::payment(order),
            Changes::new()
                .set("refund_error", s(reason))
                .set(GSI1.partition_key, s(keys::REFUSED_REFUNDS))
                .set(GSI1.sort_key, s(keys::by_time(now, order))),
        )
        .await
    }

    /// The payments whose refund the provider refused, newest first.
    pub async fn refused_refunds(&self, limit: usize) -> Result<Vec<PaymentRecord>, Error> {
        self.newest(&GSI1, keys::REFUSED_REFUNDS, limit).await
    }

    /// Takes a refused refund back for another try: its error and listing
    /// go, and its hand-off is owed again (from `now`), so that the retry's
    /// send, or failing it the reconciler, reaches the refunds queue.
    /// `false` if the refund was not refused (any more).
    pub async fn reopen_refused_refund(&self, order: &OrderId, now: Timestamp) -> Result<bool, Error> {
        let reopened = Changes::new()
            .set(GSI2.partition_key, s(keys::owed_handoff(order)))
            .set(GSI2.sort_key, s(keys::by_time(now, order)))
            .add("refund_attempt", super::n(1))
            .remove("refund_error")
            .remove("refund_handoff_at")
            .remove(GSI1.partition_key)
            .remove(GSI1.sort_key)
            .when(attr("refund_error").exists());
        self.update_if(keys::payment(order), reopened).await
    }
}
