//! Order items: placing (stock reserved in the same transaction), reading,
//! listing, and releasing (cancel and expiry give the stock back).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::{
    GSI1, GSI2, Item, MAX_TRANSACTION_ATTEMPTS, PageQuery, Store, backoff, built, cancellation_codes, item,
    key, keys, n, s,
};
use crate::clock::Timestamp;
use crate::config::Secret;
use crate::cursor::Page;
use crate::error::Error;
use crate::money::{Currency, Money};
use crate::orders::{NewOrder, Order, OrderId, OrderLine, OrderStatus, Shortage};
use crate::products::ProductId;
use crate::users::UserId;

#[derive(Serialize, Deserialize)]
struct OrderItem {
    #[serde(flatten)]
    order: Order,
}

fn order(item: Item) -> Result<Order, Error> {
    Ok(serde_dynamo::from_item::<_, OrderItem>(item)?.order)
}

impl Store {
    /// Reserves every line's stock and writes the order in one
    /// `TransactWriteItems`: either all of it happens or none of it.
    ///
    /// Prices and names come from one `BatchGetItem` of the catalogue. Each
    /// decrement is conditional on the product being for sale, at the price
    /// read, with enough stock; a cancelled transaction is read back into
    /// `OUT_OF_STOCK` (every short line) or `PRODUCT_UNAVAILABLE`, and one
    /// that lost a race is retried. If the order id exists already (a retried
    /// idempotent request whose first attempt got through), that order is
    /// the answer.
    pub async fn place_order(
        &self,
        id: OrderId,
        user_id: UserId,
        input: NewOrder,
        currency: &Currency,
        ttl_secs: i64,
    ) -> Result<Order, Error> {
        let ids: Vec<ProductId> = input.items.iter().map(|line| line.product_id.clone()).collect();
        for attempt in 0..MAX_TRANSACTION_ATTEMPTS {
            let catalogue = self.batch_get_products(&ids).await?;
            let mut lines = Vec::with_capacity(input.items.len());
            let mut shortages = Vec::new();
            for requested in &input.items {
                let product = catalogue
                    .get(&requested.product_id)
                    .filter(|p| p.for_sale())
                    .ok_or_else(|| Error::ProductUnavailable(requested.product_id.clone()))?;
                if product.stock < i64::from(requested.quantity) {
                    shortages.push(Shortage {
                        product_id: product.id.clone(),
                        requested: requested.quantity,
                        available: product.stock,
                    });
                }
                let line_total = product
                    .price
                    .times(requested.quantity)
                    .ok_or_else(|| Error::internal("line total overflow"))?;
                lines.push((
                    OrderLine {
                        product_id: product.id.clone(),
                        name: product.name.clone(),
                        unit_price: product.price,
                        quantity: requested.quantity,
                        line_total,
                    },
                    product.price,
                ));
            }
            if !shortages.is_empty() {
                return Err(Error::OutOfStock(shortages));
            }
            let total = lines
                .iter()
                .try_fold(Money::ZERO, |sum, (line, _)| sum.checked_add(line.line_total))
                .ok_or_else(|| Error::internal("order total overflow"))?;
            let now = Timestamp::now();
            let expires_at = now.plus_secs(ttl_secs);
            let order = Order {
                id: id.clone(),
                user_id: user_id.clone(),
                status: OrderStatus::PendingPayment,
                items: lines.iter().map(|(line, _)| line.clone()).collect(),
                total,
                currency: currency.clone(),
                shipping_address: input.shipping_address.clone(),
                created_at: now,
                updated_at: now,
                expires_at: Some(expires_at),
                paid_at: None,
                delivered_at: None,
            };

            let mut transaction = self.client.transact_write_items();
            for (line, price) in &lines {
                let decrement = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::product(&line.product_id))))
                    .update_expression("SET stock = stock - :q")
                    .condition_expression(
                        "attribute_exists(PK) AND attribute_not_exists(deleted_at) AND stock >= :q AND price = :price",
                    )
                    .expression_attribute_values(":q", n(line.quantity))
                    .expression_attribute_values(":price", n(price.minor()));
                transaction = transaction.transact_items(
                    TransactWriteItem::builder()
                        .update(built(decrement.build())?)
                        .build(),
                );
            }
            let mut record = item(keys::order(&order.id), &OrderItem { order: order.clone() })?;
            record.insert(GSI1.partition_key.into(), s(keys::user_orders(&user_id)));
            record.insert(
                GSI1.sort_key.into(),
                s(format!("{}{}", keys::ORDER_PREFIX, keys::by_time(now, &order.id))),
            );
            record.insert(GSI2.partition_key.into(), s(keys::PENDING));
            record.insert(GSI2.sort_key.into(), s(keys::by_time(expires_at, &order.id)));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(PK)");
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(built(put.build())?).build());

            let err = match transaction.send().await {
                Ok(_) => return Ok(order),
                Err(err) => err,
            };
            let Some(codes) = cancellation_codes(&err) else {
                return Err(err.into());
            };
            if codes.last().map(String::as_str) == Some("ConditionalCheckFailed") {
                // The order exists: an earlier attempt with this id succeeded.
                return self.get_order(&id).await?.ok_or(Error::NotFound);
            }
            // Stock, price or availability changed since the read, or another
            // transaction got in the way: read again and retry, or report.
            tracing::debug!(?codes, attempt, "order transaction cancelled");
            backoff(attempt).await;
        }
        Err(Error::Unavailable(
            "order placement kept losing races to other writers".into(),
        ))
    }

    pub async fn get_order(&self, id: &OrderId) -> Result<Option<Order>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::order(id))))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(order).transpose()
    }

    /// A user's orders, newest first.
    pub async fn list_orders(
        &self,
        secret: &Secret,
        user_id: &UserId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Order>, Error> {
        let query = PageQuery {
            gsi: &GSI1,
            partition: keys::user_orders(user_id),
            sort_prefix: Some(keys::ORDER_PREFIX),
            scope: format!("orders:{user_id}"),
            limit,
            cursor,
        };
        let (items, next_cursor) = self.query_page(secret, query).await?;
        let items = items.into_iter().map(order).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Every order awaiting payment whose `expires_at` is at or before `now`.
    pub async fn orders_due_for_expiry(&self, now: Timestamp) -> Result<Vec<Order>, Error> {
        let gsi = &GSI2;
        let mut due = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(gsi.name)
                .key_condition_expression("#pk = :pending AND #sk < :bound")
                .expression_attribute_names("#pk", gsi.partition_key)
                .expression_attribute_names("#sk", gsi.sort_key)
                .expression_attribute_values(":pending", s(keys::PENDING))
                // `<expires_at>#<id>` sorts below the next second for every
                // expires_at up to and including now.
                .expression_attribute_values(":bound", s(now.plus_secs(1).to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in output.items.unwrap_or_default() {
                due.push(order(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(due);
            }
        }
    }

    /// Moves an unpaid order to `to` and gives every line's stock back, in one
    /// transaction conditional on the order still awaiting payment (and, for
    /// expiry, on being due at `due_by`): the stock comes back exactly once
    /// however many cancels, expiries and payments race.
    pub async fn release_order(
        &self,
        current: &Order,
        to: OrderStatus,
        now: Timestamp,
        due_by: Option<Timestamp>,
    ) -> Result<Order, Error> {
        let mut change = status_change(
            &self.table,
            current,
            to,
            now,
            "SET #status = :to, updated_at = :now REMOVE expires_at, #g2pk, #g2sk",
        )
        .expression_attribute_names("#g2pk", GSI2.partition_key)
        .expression_attribute_names("#g2sk", GSI2.sort_key);
        if let Some(due_by) = due_by {
            change = change
                .condition_expression("#status = :from AND expires_at <= :due")
                .expression_attribute_values(":due", s(due_by.to_string()));
        }
        let mut items = vec![update(change)?];
        items.extend(self.restocks(current)?);
        self.transact_status_change(current, items).await?;
        let mut released = current.clone();
        released.status = to;
        released.updated_at = now;
        released.expires_at = None;
        Ok(released)
    }

    /// One `ADD stock` per line of `order`.
    pub(super) fn restocks(&self, order: &Order) -> Result<Vec<TransactWriteItem>, Error> {
        order
            .items
            .iter()
            .map(|line| {
                update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(keys::product(&line.product_id))))
                        .update_expression("ADD stock :q")
                        .condition_expression("attribute_exists(PK)")
                        .expression_attribute_values(":q", n(line.quantity)),
                )
            })
            .collect()
    }

    /// Runs `items`, whose first is `order`'s conditional status change, as
    /// one transaction. A failed condition is answered with the order's
    /// status now (`INVALID_STATE`); a transaction that lost a race to
    /// another is retried.
    pub(super) async fn transact_status_change(
        &self,
        order: &Order,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), Error> {
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => {
                let status = self
                    .get_order(&order.id)
                    .await?
                    .map_or(order.status, |o| o.status);
                Err(Error::InvalidState(status))
            }
        }
    }
}

/// An order's status change from its current status to `to`, conditional
/// on the current one.
pub(super) fn status_change(
    table: &str,
    order: &Order,
    to: OrderStatus,
    now: Timestamp,
    expression: &str,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::order(&order.id))))
        .update_expression(expression)
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":from", s(order.status.as_str()))
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":now", s(now.to_string()))
}

/// A transaction's update item.
pub(super) fn update(
    builder: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<TransactWriteItem, Error> {
    Ok(TransactWriteItem::builder()
        .update(built(builder.build())?)
        .build())
}

/// A transaction's put item.
pub(super) fn put(
    builder: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> Result<TransactWriteItem, Error> {
    Ok(TransactWriteItem::builder().put(built(builder.build())?).build())
}
