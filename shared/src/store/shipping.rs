//! Shipment items (`ORDER#<id>` / `SHIPMENT`, events inside) and the
//! purchase records written at delivery.

use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};

use super::s;
use serde::{Deserialize, Serialize};

use super::orders::status_change;
use super::products::is_conditional_failure;
use super::{Store, cancellation_codes, item, key, keys};
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

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, Error> {
    result.map_err(|err| Error::internal(err.to_string()))
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
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(keys::shipment(&shipment.id), shipment)?))
            .condition_expression("attribute_not_exists(PK)");
        let order_update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, updated_at = :now",
        );
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(built(put.build())?).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(built(order_update.build())?)
                    .build(),
            )
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
        let shipment_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::shipment(&shipment.id))))
            .update_expression(
                "SET #status = :status, events = list_append(events, :event), updated_at = :now",
            )
            .condition_expression("attribute_exists(PK) AND #status <> :delivered")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", serde_dynamo::to_attribute_value(event.status)?)
            .expression_attribute_values(":event", serde_dynamo::to_attribute_value(vec![event.clone()])?)
            .expression_attribute_values(
                ":delivered",
                serde_dynamo::to_attribute_value(ShipmentStatus::Delivered)?,
            )
            .expression_attribute_values(":now", s(now.to_string()));

        let Some((order, to)) = delivered else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(shipment_update.get_key().clone())
                .set_update_expression(shipment_update.get_update_expression().clone())
                .set_condition_expression(shipment_update.get_condition_expression().clone())
                .set_expression_attribute_names(shipment_update.get_expression_attribute_names().clone())
                .set_expression_attribute_values(shipment_update.get_expression_attribute_values().clone())
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

        let order_update = status_change(
            &self.table,
            order,
            to,
            now,
            "SET #status = :to, delivered_at = :now, updated_at = :now",
        );
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(built(shipment_update.build())?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(built(order_update.build())?)
                    .build(),
            );
        for line in &order.items {
            let purchase = PurchaseItem {
                product_id: line.product_id.clone(),
                order_id: order.id.clone(),
                delivered_at: now,
            };
            let put = Put::builder().table_name(&self.table).set_item(Some(item(
                keys::purchase(&order.user_id, &line.product_id),
                &purchase,
            )?));
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(built(put.build())?).build());
        }
        match transaction.send().await {
            Ok(_) => {
                let mut updated = shipment.clone();
                updated.status = event.status;
                updated.events.push(event);
                updated.updated_at = now;
                Ok(updated)
            }
            Err(err) if cancellation_codes(&err).is_some() => {
                let status = self
                    .get_order(&order.id)
                    .await?
                    .map_or(order.status, |o| o.status);
                Err(Error::InvalidState(status))
            }
            Err(err) => Err(err.into()),
        }
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
