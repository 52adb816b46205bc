//! Payment items (`ORDER#<id>` / `PAYMENT`): the payment and the marks of
//! which hand-offs have gone through.

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::expr::{Changes, Conditional, Updates, attr};
use super::{
    GSI1, GSI2, IndexQuery, PARTITION_KEY, Read, Store, TTL_ATTRIBUTE, item, key, keys, n, put, s, update,
};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::OrderId;
use crate::model::messages::QueueKind;
use crate::model::orders::{Dispute, Order, OrderStatus};
use crate::model::payments::{Payment, PaymentRecord, PaymentStatus};
use crate::model::payments::{ProviderPaymentId, WebhookEventId};

/// How long a handled webhook event is remembered: longer than the
/// provider retries a delivery (Stripe: three days).
const EVENT_MEMORY_SECS: i64 = 30 * 24 * 3600;

/// Which order a provider's payment pays for.
#[derive(Serialize, Deserialize)]
struct IntentItem {
    order_id: OrderId,
}

/// A disputed order, as listed for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputedOrder {
    pub order_id: OrderId,
    pub dispute: Dispute,
}

impl Store {
    pub async fn get_payment(&self, order: &OrderId) -> Result<Option<PaymentRecord>, Error> {
        self.get_as(keys::payment(order), Read::Strong).await
    }

    /// Stores a new payment, and which order its provider payment pays
    /// for (events about charges, refunds and disputes name only the
    /// provider payment); `false` if the order has one already.
    pub async fn put_payment(&self, record: &PaymentRecord) -> Result<bool, Error> {
        let payment = &record.payment;
        let items = vec![
            put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(keys::payment(&payment.order_id), record)?))
                .when(attr(PARTITION_KEY).not_exists()))?,
            put(Put::builder().table_name(&self.table).set_item(Some(item(
                keys::intent(&payment.provider_payment_id),
                &IntentItem {
                    order_id: payment.order_id.clone(),
                },
            )?)))?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }

    /// The order a provider payment pays for, if it is one of ours.
    pub async fn order_of_intent(
        &self,
        provider_payment_id: &ProviderPaymentId,
    ) -> Result<Option<OrderId>, Error> {
        Ok(self
            .get_as::<IntentItem, _>(keys::intent(provider_payment_id), Read::Strong)
            .await?
            .map(|found| found.order_id))
    }

    /// Whether the provider's event `id` was handled before.
    pub async fn webhook_event_handled(&self, id: &WebhookEventId) -> Result<bool, Error> {
        Ok(self.get(keys::webhook_event(id), Read::Strong).await?.is_some())
    }

    /// Remembers that the provider's event `id` was handled (for longer
    /// than the provider delivers it again).
    pub async fn mark_webhook_event(
        &self,
        id: &WebhookEventId,
        outcome: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let (pk, sk) = keys::webhook_event(id);
        self.client
            .put_item()
            .table_name(&self.table)
            .item(super::PARTITION_KEY, s(pk))
            .item(super::SORT_KEY, s(sk))
            .item("outcome", s(outcome))
            .item("handled_at", s(now.to_string()))
            .item(TTL_ATTRIBUTE, n(now.unix() + EVENT_MEMORY_SECS))
            .send()
            .await?;
        Ok(())
    }

    /// Notes why an attempt to pay failed; the payment still awaits one.
    pub async fn record_payment_failure(&self, order: &OrderId, reason: &str) -> Result<(), Error> {
        let noted = Changes::new()
            .set("last_failure", s(reason))
            .when(attr("status").eq(serde_dynamo::to_attribute_value(PaymentStatus::RequiresPayment)?));
        // Not noted if it succeeded meanwhile (events come out of order): a
        // failed attempt before a success is history.
        self.update_if(keys::payment(order), noted).await?;
        Ok(())
    }

    /// A refund the provider accepted failed afterwards: the order goes back
    /// from `REFUNDED` to `to` (`REFUND_PENDING`), the payment notes why and
    /// is listed among the refused refunds for an operator, and a retry
    /// restocks nothing (the first refund gave the stock back).
    pub async fn refund_failed(
        &self,
        order: &Order,
        to: OrderStatus,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = self.status_change(order, to, now, Changes::new());
        let payment_update = self.payment_update(
            &order.id,
            Changes::new()
                .set(
                    "status",
                    serde_dynamo::to_attribute_value(PaymentStatus::Succeeded)?,
                )
                .set("refund_error", s(reason))
                .set("refund_restock", AttributeValue::Bool(false))
                .set(GSI1.partition_key, s(keys::REFUSED_REFUNDS))
                .set(GSI1.sort_key, s(keys::by_time(now, &order.id)))
                .remove("refunded_at"),
        );
        self.transact_status_change(order, vec![update(order_update)?, update(payment_update)?])
            .await
    }

    /// Records a dispute's state on its order, and lists it for admins.
    /// With `reship`, the payment owes its shipping hand-off again (a won
    /// dispute lifts the hold of an order still `PAID`).
    pub async fn record_dispute(
        &self,
        order: &OrderId,
        dispute: &Dispute,
        reship: bool,
        now: Timestamp,
    ) -> Result<(), Error> {
        let order_update = super::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(order))))
            .changes(
                Changes::new()
                    .set("dispute", serde_dynamo::to_attribute_value(dispute)?)
                    .set("updated_at", s(now.to_string()))
                    .when(attr(PARTITION_KEY).exists()),
            );
        let mut listed = item(
            keys::dispute(order),
            &DisputedOrder {
                order_id: order.clone(),
                dispute: dispute.clone(),
            },
        )?;
        listed.insert(GSI1.partition_key.to_owned(), s(keys::DISPUTES));
        listed.insert(
            GSI1.sort_key.to_owned(),
            s(keys::by_time(dispute.opened_at, order)),
        );
        let mut items: Vec<TransactWriteItem> = vec![
            update(order_update)?,
            put(Put::builder().table_name(&self.table).set_item(Some(listed)))?,
        ];
        if reship {
            items.push(update(self.owe_handoff(
                order,
                now,
                Changes::new().set("shipping_handoff_at", AttributeValue::Null(true)),
            ))?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::NotFound),
        }
    }

    /// Disputed orders, newest first.
    pub async fn disputes(&self, limit: usize) -> Result<Vec<DisputedOrder>, Error> {
        self.newest(&GSI1, keys::DISPUTES, limit).await
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
        let order_update =
            self.leave_pending(order, to, now, Changes::new().set("paid_at", s(now.to_string())));
        let mut paid = Changes::new()
            .set(
                "status",
                serde_dynamo::to_attribute_value(PaymentStatus::Succeeded)?,
            )
            .set("paid_late", AttributeValue::Bool(late));
        if late {
            paid = paid.set("refund_restock", AttributeValue::Bool(false));
        }
        let payment_update = self.owe_handoff(&payment.order_id, now, paid);
        let mut items = vec![update(order_update)?, update(payment_update)?];
        if !late {
            items.push(self.unpaid_order_gone(&order.user_id)?);
        }
        self.transact_status_change(order, items).await
    }

    /// An update of the payment (`changes`) that also records a hand-off
    /// as owed since `now`: the payment enters the index of owed hand-offs,
    /// which the reconciler reads, until [`Self::mark_handoff`].
    pub(super) fn owe_handoff(&self, order: &OrderId, now: Timestamp, changes: Changes) -> UpdateBuilder {
        self.payment_update(
            order,
            changes
                .set(GSI2.partition_key, s(keys::owed_handoff(order)))
                .set(GSI2.sort_key, s(keys::by_time(now, order))),
        )
    }

    /// Records that a hand-off message reached its queue: the payment
    /// leaves the index of owed hand-offs.
    pub async fn mark_handoff(&self, order: &OrderId, queue: QueueKind, now: Timestamp) -> Result<(), Error> {
        let attribute = match queue {
            QueueKind::Shipping => "shipping_handoff_at",
            QueueKind::Refunds => "refund_handoff_at",
        };
        self.update_existing(
            keys::payment(order),
            Changes::new()
                .set(attribute, s(now.to_string()))
                .remove(GSI2.partition_key)
                .remove(GSI2.sort_key),
        )
        .await
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
        self.update_existing(
            keys::payment(order),
            Changes::new().remove(GSI2.partition_key).remove(GSI2.sort_key),
        )
        .await
    }

    /// Shards of the index of owed hand-offs.
    pub fn owed_shards(&self) -> u32 {
        keys::OWED_SHARDS
    }
}
