//! Order items: placing (stock reserved in the same transaction), reading,
//! listing, and releasing (cancel and expiry give the stock back).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::carts::CartWrite;
use super::expr::{Changes, Conditional, Updates, attr};
use super::{
    GSI1, GSI2, GSI3, IndexQuery, Item, PARTITION_KEY, PageQuery, Read, Store, built, cancellation_codes,
    item, key, keys, n, s, update,
};
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::foundation::ids::{OrderId, UserId};
use crate::foundation::secret::Secret;
use crate::model::orders::{Order, OrderStatus, StockTake};
use crate::model::promotions::uses::Redemption;

/// An order as stored: the order, and the stock counters its lines took
/// their units from.
#[derive(Serialize, Deserialize)]
struct OrderItem {
    #[serde(flatten)]
    order: Order,
    #[serde(default)]
    stock_takes: Vec<StockTake>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    redemptions: Vec<Redemption>,
    /// The number of its last change: 1 when placed, one more at each
    /// change of status (`Store::status_change`).
    #[serde(default)]
    event_seq: u64,
}

/// An order as a stream image holds it, with the number of the change
/// that wrote it.
pub(super) fn order_with_seq(item: Item) -> Result<(Order, u64), Error> {
    let stored: OrderItem = serde_dynamo::from_item(item)?;
    let seq = stored.event_seq;
    Ok((
        Order {
            stock_takes: stored.stock_takes,
            redemptions: stored.redemptions,
            ..stored.order
        },
        seq,
    ))
}

pub(super) fn order(item: Item) -> Result<Order, Error> {
    let stored: OrderItem = serde_dynamo::from_item(item)?;
    Ok(Order {
        stock_takes: stored.stock_takes,
        redemptions: stored.redemptions,
        ..stored.order
    })
}

/// What writing a priced order came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The order and every line's reservation are written.
    Placed,
    /// An order with this id exists already: an earlier attempt got through.
    Exists,
    /// Nothing written: a product changed since it was read (stock, price,
    /// withdrawn), a promotion's counter ran out of uses or a customer
    /// reached its limit, or another transaction got in the way. Read and
    /// price again.
    Contended,
    /// Nothing written: the customer holds the most unpaid orders allowed.
    TooManyUnpaid,
    /// Nothing written: the cart checked out moved on since it was read
    /// (another checkout emptied it, or a write changed it).
    CartChanged,
}

impl Store {
    /// Writes a priced order and reserves every line's stock in one
    /// `TransactWriteItems`: either all of it happens or none of it. Each
    /// take is a decrement of one stock counter, conditional on the product
    /// being for sale, at the prices the order was priced from, with the units
    /// still there; the customer's count of unpaid orders goes up by one,
    /// conditional on staying within `max_unpaid`; the order is conditional
    /// on its id being new. A checkout's cart goes first, emptied,
    /// conditional on the version the order was priced from.
    pub async fn place_order(
        &self,
        order: &Order,
        max_unpaid: u32,
        cart: Option<&CartWrite>,
    ) -> Result<Placement, Error> {
        let mut transaction = self.client.transact_write_items();
        if let Some(cart) = cart {
            transaction = transaction.transact_items(self.cart_write(cart)?);
        }
        for take in &order.stock_takes {
            let decrement = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::stock_counter(&take.product_id, take.counter))))
                .changes(
                    Changes::new()
                        .subtract("stock", n(take.quantity))
                        .add("sold", n(take.quantity))
                        .when(super::products::for_sale())
                        .when(attr("stock").ge(n(take.quantity)))
                        .when(attr("price").eq(n(take.unit_price.minor())))
                        .when(match take.prices_rev {
                            0 => attr("prices_rev").not_exists(),
                            rev => attr("prices_rev").eq(n(rev)),
                        }),
                );
            transaction = transaction.transact_items(
                TransactWriteItem::builder()
                    .update(built(decrement.build())?)
                    .build(),
            );
        }
        for redemption in self.redemptions(order)? {
            transaction = transaction.transact_items(redemption);
        }
        let expires_at = order
            .expires_at
            .ok_or_else(|| Error::internal("a new order without an expiry"))?;
        let mut record = item(
            keys::order(&order.id),
            &OrderItem {
                order: order.clone(),
                stock_takes: order.stock_takes.clone(),
                redemptions: order.redemptions.clone(),
                event_seq: 1,
            },
        )?;
        record.insert(GSI1.partition_key.into(), s(keys::user_orders(&order.user_id)));
        record.insert(
            GSI1.sort_key.into(),
            s(format!(
                "{}{}",
                keys::ORDER_PREFIX,
                keys::by_time(order.created_at, &order.id)
            )),
        );
        record.insert(
            GSI3.partition_key.into(),
            s(keys::order_search(&order.id, order.created_at)),
        );
        record.insert(
            GSI3.sort_key.into(),
            s(keys::by_time(order.created_at, &order.id)),
        );
        record.insert(GSI2.partition_key.into(), s(keys::pending(&order.id)));
        record.insert(GSI2.sort_key.into(), s(keys::by_time(expires_at, &order.id)));
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::unpaid_orders(&order.user_id))))
            .changes(
                Changes::new()
                    .add("unpaid", n(1))
                    .when(attr("unpaid").not_exists().or(attr("unpaid").lt(n(max_unpaid)))),
            );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .when(attr(PARTITION_KEY).not_exists());
        transaction = transaction
            .transact_items(TransactWriteItem::builder().update(built(count.build())?).build())
            .transact_items(TransactWriteItem::builder().put(built(put.build())?).build());

        let err = match transaction.send().await {
            Ok(_) => return Ok(Placement::Placed),
            Err(err) => err,
        };
        let Some(codes) = cancellation_codes(&err) else {
            return Err(err.into());
        };
        let failed = |code: Option<&String>| code.map(String::as_str) == Some("ConditionalCheckFailed");
        if cart.is_some() && failed(codes.first()) {
            return Ok(Placement::CartChanged);
        }
        if failed(codes.last()) {
            return Ok(Placement::Exists);
        }
        if failed(codes.iter().rev().nth(1)) {
            return Ok(Placement::TooManyUnpaid);
        }
        tracing::debug!(?codes, "order transaction cancelled");
        Ok(Placement::Contended)
    }

    pub async fn get_order(&self, id: &OrderId) -> Result<Option<Order>, Error> {
        self.get(keys::order(id), Read::Strong)
            .await?
            .map(order)
            .transpose()
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

    /// How many shards the index of orders awaiting payment has.
    pub fn pending_shards(&self) -> u32 {
        keys::PENDING_SHARDS
    }

    /// Orders awaiting payment whose `expires_at` is at or before `now`, in
    /// one shard of the pending index: a page of at most `limit` from
    /// `start`, and where the next page starts.
    pub async fn orders_due_for_expiry(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Order>, Option<Item>), Error> {
        let (items, next) = self
            .query_index(IndexQuery {
                gsi: &GSI2,
                partition: keys::pending_shard(shard),
                // `<expires_at>#<id>` sorts below the next second for every
                // expires_at up to and including now.
                below: Some(now.plus_secs(1).to_string()),
                newest_first: false,
                limit,
                start,
            })
            .await?;
        let due = items.into_iter().map(order).collect::<Result<_, _>>()?;
        Ok((due, next))
    }

    /// Moves an unpaid order to `to` and gives every line's stock (and every
    /// promotion's use) back, in one
    /// transaction conditional on the order still awaiting payment (and, for
    /// expiry, on being due at `due_by`): the stock comes back exactly once
    /// however many cancels, expiries and payments race.
    pub async fn release_order(
        &self,
        current: &Order,
        to: OrderStatus,
        now: Timestamp,
        due_by: Option<Timestamp>,
    ) -> Result<(), Error> {
        let mut changes = Changes::new();
        if let Some(due_by) = due_by {
            changes = changes.when(attr("expires_at").le(s(due_by.to_string())));
        }
        let change = self.leave_pending(current, to, now, changes);
        let mut items = vec![update(change)?, self.unpaid_order_gone(&current.user_id)?];
        items.extend(self.restocks(current)?);
        items.extend(self.give_backs(current)?);
        self.transact_status_change(current, items).await
    }

    /// The customer's count of unpaid orders, one down: an order of theirs
    /// left `PENDING_PAYMENT` (paid, cancelled, expired).
    pub(super) fn unpaid_order_gone(&self, user: &UserId) -> Result<TransactWriteItem, Error> {
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::unpaid_orders(user))))
                .changes(Changes::new().add("unpaid", n(-1))),
        )
    }

    /// Every unit of `order` back in stock, to the counter it came from
    /// (one `ADD` per counter taken from).
    pub(super) fn restocks(&self, order: &Order) -> Result<Vec<TransactWriteItem>, Error> {
        order
            .stock_takes
            .iter()
            .map(|take| self.restock_item(&take.product_id, take.counter, take.quantity))
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
