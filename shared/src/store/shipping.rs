//! Shipment items (`ORDER#<id>` / `SHIPMENT`, events inside) and the
//! purchase records written at delivery.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, ReturnValue, Update};
use serde::{Deserialize, Serialize};

use super::orders::{put, status_change, update};
use super::products::is_conditional_failure;
use super::{Store, item, key, keys, s};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::orders::{Order, OrderId, OrderStatus};
use crate::products::ProductId;
use crate::shipping::{Shipment, ShipmentEvent, ShipmentId, ShipmentStatus};

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
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::shipment(id))))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
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
            .condition_expression("attribute_not_exists(PK)");
        let change = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, updated_at = :now",
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
        const APPEND: &str = "SET #status = :status, events = list_append(events, :event), updated_at = :now";
        const NOT_DELIVERED: &str = "attribute_exists(PK) AND #status <> :delivered";
        let values = HashMap::from([
            (
                ":status".to_owned(),
                serde_dynamo::to_attribute_value(event.status)?,
            ),
            (
                ":event".to_owned(),
                serde_dynamo::to_attribute_value(vec![event.clone()])?,
            ),
            (
                ":delivered".to_owned(),
                serde_dynamo::to_attribute_value(ShipmentStatus::Delivered)?,
            ),
            (":now".to_owned(), s(now.to_string())),
        ]);
        let names = HashMap::from([("#status".to_owned(), "status".to_owned())]);

        let Some((order, to)) = delivered else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::shipment(&shipment.id))))
                .update_expression(APPEND)
                .condition_expression(NOT_DELIVERED)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(output) => Ok(serde_dynamo::from_item(output.attributes.unwrap_or_default())?),
                Err(err) if is_conditional_failure(&err) => {
                    let status = self
                        .get_order(&shipment.order_id)
                        .await?
                        .map_or(OrderStatus::Delivered, |o| o.status);
                    Err(Error::InvalidState(status))
                }
                Err(err) => Err(err.into()),
            };
        };

        let change = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, delivered_at = :now, updated_at = :now",
        );
        let append = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::shipment(&shipment.id))))
            .update_expression(APPEND)
            .condition_expression(NOT_DELIVERED)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
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
    pub async fn has_purchased(
        &self,
        user: &crate::users::UserId,
        product: &ProductId,
    ) -> Result<bool, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::purchase(user, product))))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.is_some())
    }
}
