//! Orders' use cases: placing one (read the catalogue, price, write the
//! order and its stock reservation in one conditional transaction),
//! reading and listing, cancellation and expiry.

use serde::Serialize;

use crate::adapters::store::Placement;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Principal;
use crate::model::orders::{self, Event, NewOrder, Order, OrderId, OrderTerms, next_status, transition};

/// What an expiry run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Orders that were paid or cancelled between the listing and the write.
    pub skipped: usize,
}

/// Places an order with id `id`: prices from the catalogue, every line's
/// stock reserved atomically with the order, or nothing changed.
///
/// The write is conditional on what pricing read (each product still for
/// sale, at the price read, with enough stock). When it is cancelled, the
/// catalogue is read again: short lines then answer `OUT_OF_STOCK`, a
/// withdrawn product `PRODUCT_UNAVAILABLE`, and a changed price or a lost
/// race is priced and tried again. If the order id exists already (a
/// retried idempotent request whose first attempt got through), that order
/// is the answer.
pub async fn place_order(
    app: &App,
    caller: &Principal,
    input: NewOrder,
    id: OrderId,
) -> Result<Order, Error> {
    orders::may_order(caller)?;
    let products = input.product_ids();
    for attempt in 0..MAX_ATTEMPTS {
        let catalogue = app.store.products_by_id(&products).await?;
        let terms = OrderTerms {
            id: id.clone(),
            user_id: caller.user_id.clone(),
            currency: &app.config.store_currency,
            now: Timestamp::now(),
            ttl_secs: app.config.order_ttl_secs,
        };
        let order = orders::price_order(&input, &catalogue, terms)?;
        match app.store.place_order(&order).await? {
            Placement::Placed => return Ok(order),
            Placement::Exists => return app.store.get_order(&id).await?.ok_or(Error::NotFound),
            Placement::Contended => {
                tracing::debug!(attempt, "order transaction cancelled; pricing again");
                backoff(attempt).await;
            }
        }
    }
    Err(Error::Unavailable(
        "order placement kept losing races to other writers".into(),
    ))
}

/// The order, if the caller may see it; otherwise `NOT_FOUND`.
pub async fn get_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    match app.store.get_order(id).await? {
        Some(order) if order.visible_to(caller) => Ok(order),
        _ => Err(Error::NotFound),
    }
}

/// The caller's own orders, newest first.
pub async fn list_orders(
    app: &App,
    caller: &Principal,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Order>, Error> {
    app.store
        .list_orders(app.config.jwt_secret()?, &caller.user_id, limit, cursor)
        .await
}

/// Cancels an unpaid order and releases its stock, exactly once.
pub async fn cancel_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    let order = get_order(app, caller, id).await?;
    let to = transition(order.status, Event::Cancel)?;
    let now = Timestamp::now();
    app.store.release_order(&order, to, now, None).await?;
    Ok(orders::moved(order, to, now))
}

/// Cancels every order still unpaid at `now`, releasing its stock. Safe to
/// run twice, or beside a cancel or a payment: each release is conditional
/// on the order still awaiting payment.
pub async fn expire_orders(app: &App, now: Timestamp) -> Result<ExpiryReport, Error> {
    let mut report = ExpiryReport::default();
    for order in app.store.orders_due_for_expiry(now).await? {
        let Some(to) = next_status(order.status, Event::Expire) else {
            report.skipped += 1;
            continue;
        };
        match app.store.release_order(&order, to, now, Some(now)).await {
            Ok(()) => report.expired += 1,
            Err(Error::InvalidState(_)) => report.skipped += 1,
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}
