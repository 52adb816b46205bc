//! Carts (`CART#<user>` / `CART`): one item per customer, written whole
//! and conditional on the version read.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::expr::{Conditional, attr};
use super::{PARTITION_KEY, Read, Store, item, keys, n, put};
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::model::carts::Cart;

/// A cart written with an order (checkout): the emptied cart, over the
/// version the order was priced from.
#[derive(Debug, Clone)]
pub struct CartWrite {
    pub cart: Cart,
    pub read_version: u64,
}

impl Store {
    /// The customer's cart (a strongly consistent read: a customer sees
    /// their own writes), if it was ever written.
    pub async fn get_cart(&self, user: &UserId) -> Result<Option<Cart>, Error> {
        self.get_as(keys::cart(user), Read::Strong).await
    }

    /// Writes `cart` over the version read (0: never written). `false`:
    /// another write got in between; nothing written.
    pub async fn put_cart(&self, cart: &Cart, read_version: u64) -> Result<bool, Error> {
        self.put_if(item(keys::cart(&cart.user_id), cart)?, unchanged(read_version))
            .await
    }

    /// The cart's put, as one item of a transaction.
    pub(super) fn cart_write(&self, write: &CartWrite) -> Result<TransactWriteItem, Error> {
        put(Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(keys::cart(&write.cart.user_id), &write.cart)?))
            .when(unchanged(write.read_version)))
    }
}

/// The cart is still at `version` (0: not there yet).
fn unchanged(version: u64) -> super::expr::Condition {
    match version {
        0 => attr(PARTITION_KEY).not_exists(),
        read => attr("version").eq(n(read)),
    }
}
