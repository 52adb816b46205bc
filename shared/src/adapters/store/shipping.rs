//! Shipment items (`ORDER#<id>` / `SHIPMENT`, events inside) and the
//! purchase records written at delivery.

use aws_sdk_dynamodb::types::{Put, ReturnValue, Update};
use serde::{Deserialize, Serialize};

use super::expr::{Changes, Conditional, Updates, attr};
use super::{PARTITION_KEY, Read, Store, is_conditional_failure, item, key, keys, n, put, s, update};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::{OrderId, ProductId, ShipmentId, UserId};
use crate::model::orders::{DisputeStatus, Order, OrderStatus};
use crate::model::shipping::{MAX_EVENTS, Shipment, ShipmentEvent, ShipmentStatus};

/// `USER#<id>` / `PURCHASED#<product>`: this user has had this product
/// delivered (what reviews check).
#[derive(Serialize, Deserialize)]
struct PurchaseItem {
    product_id: ProductId,
    order_id: OrderId,
    delivered_at: Timestamp,
}

impl Store {
    pub async fn get_shipment(&self, id: &ShipmentId) -> Result<Option<Shipment>, Error> {
        self.get_as(keys::shipment(id), Read::Strong).await
    }

    /// Writes the shipment and moves the order to `to` (`SHIPPED`), both
    /// conditional: no shipment yet, order still in its status.
    pub async fn create_shipment(
        &self,
        order: &Order,
        to: OrderStatus,
        shipment: &Shipment,
        now: Timestamp,
    ) -> Result<(), Error> {
        let shipment = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(keys::shipment(&shipment.id), shipment)?))
            .when(attr(PARTITION_KEY).not_exists());
        // Not while a dispute holds the order (it may have opened since the
        // worker read it).
        let change = self.status_change(
            order,
            to,
            now,
            Changes::new().when(
                attr("dispute")
                    .not_exists()
                    .or(attr("dispute.status").eq(s(DisputeStatus::Won.as_str()))),
            ),
        );
        self.transact_status_change(order, vec![update(change)?, put(shipment)?])
            .await
    }

    /// Appends a tracking event. With `delivered = Some((order, to))` the same
    /// transaction moves the order to `to`, stamps `delivered_at` and writes
    /// a purchase record per line.
    pub async fn add_shipment_event(
        &self,
        shipment: &Shipment,
        event: ShipmentEvent,
        delivered: Option<(&Order, OrderStatus)>,
        now: Timestamp,
    ) -> Result<Shipment, Error> {
        let append = Changes::new()
            .set("status", serde_dynamo::to_attribute_value(event.status)?)
            .append("events", serde_dynamo::to_attribute_value(vec![event.clone()])?)
            .set("updated_at", s(now.to_string()))
            .when(attr(PARTITION_KEY).exists())
            .when(attr("status").ne(serde_dynamo::to_attribute_value(ShipmentStatus::Delivered)?));

        let Some((order, to)) = delivered else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::shipment(&shipment.id))))
                // Tracking events are capped; the one that delivers always fits.
                .changes(append.when(attr("events").size().lt(n(MAX_EVENTS))))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(output) => Ok(serde_dynamo::from_item(output.attributes.unwrap_or_default())?),
                Err(err) if is_conditional_failure(&err) => {
                    let full = self.get_shipment(&shipment.id).await?.is_some_and(|now| {
                        now.status != ShipmentStatus::Delivered && now.events.len() >= MAX_EVENTS
                    });
                    if full {
                        return Err(Error::TooManyEvents(MAX_EVENTS));
                    }
                    let status = self
                        .get_order(&shipment.order_id)
                        .await?
                        .map_or(OrderStatus::Delivered, |o| o.status);
                    Err(Error::InvalidState(status))
                }
                Err(err) => Err(err.into()),
            };
        };

        let change = self.status_change(
            order,
            to,
            now,
            Changes::new().set("delivered_at", s(now.to_string())),
        );
        let append = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::shipment(&shipment.id))))
            .changes(append);
        let mut items = vec![update(change)?, update(append)?];
        for line in &order.items {
            let purchase = PurchaseItem {
                product_id: line.product_id.clone(),
                order_id: order.id.clone(),
                delivered_at: now,
            };
            let record = item(keys::purchase(&order.user_id, &line.product_id), &purchase)?;
            items.push(put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(record)))?);
        }
        self.transact_status_change(order, items).await?;
        let mut updated = shipment.clone();
        updated.status = event.status;
        updated.events.push(event);
        updated.updated_at = now;
        Ok(updated)
    }
}

impl Store {
    /// Whether `user` has had `product` delivered.
    pub async fn has_purchased(&self, user: &UserId, product: &ProductId) -> Result<bool, Error> {
        Ok(self
            .get(keys::purchase(user, product), Read::Strong)
            .await?
            .is_some())
    }
}
