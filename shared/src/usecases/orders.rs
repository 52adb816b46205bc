//! Orders' use cases: placing one (read the catalogue, price, write the
//! order and its stock reservation in one conditional transaction),
//! reading and listing, cancellation and expiry.

use serde::Serialize;

use crate::adapters::metrics;
use crate::adapters::store::Placement;
use crate::app::App;
use futures::StreamExt;

use crate::foundation::clock::{Deadline, Timestamp};
use crate::foundation::cursor::Page;
use crate::foundation::error::Error;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Principal;
use crate::model::orders::{
    self, Event, NewOrder, Order, OrderId, OrderStatus, OrderTerms, next_status, transition,
};
use crate::model::payments::PaymentStatus;
use crate::usecases::{pricing, promotions};

/// What an expiry run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Orders that were paid or cancelled between the listing and the write.
    pub skipped: usize,
    /// Orders (or pages of them) that failed; logged, left for the next run.
    pub failed: usize,
    /// The run stopped at its deadline with due orders left for the next.
    pub unfinished: bool,
}

/// Pages of due orders read at a time from each shard of the pending index.
const EXPIRY_PAGE: usize = 50;
/// Shards swept at once (each releasing a page of orders at once).
const EXPIRY_SHARDS_AT_ONCE: usize = 8;
/// No new page is started with less time than this left.
const EXPIRY_STOP_BEFORE: std::time::Duration = std::time::Duration::from_secs(1);

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
    let placed = place(app, caller, input, id).await;
    promotions::count_outcome(&placed);
    placed
}

async fn place(app: &App, caller: &Principal, input: NewOrder, id: OrderId) -> Result<Order, Error> {
    orders::may_place(caller, app.config.require_verified_email)?;
    let limits = app.config.order_limits;
    orders::within_limits(&input, &limits)?;
    let products = input.product_ids();
    for attempt in 0..MAX_ATTEMPTS {
        // The first read may lag (the write's conditions keep it right);
        // after a cancelled write, read what is there now. The markets and
        // rates come from the function's cache (at most a minute old).
        let (catalogue, setup) = futures::try_join!(
            app.store.products_by_id(&products, attempt > 0),
            pricing::setup(app)
        )?;
        let uses = promotions::uses_for(
            app,
            &setup.promotions,
            &input.coupon_codes,
            &caller.user_id,
            attempt > 0,
        )
        .await?;
        let terms = OrderTerms {
            id: id.clone(),
            user_id: caller.user_id.clone(),
            setup: &setup,
            base: app.config.store_currency,
            store_country: &app.config.store_country,
            now: Timestamp::now(),
            ttl_secs: app.config.order_ttl_secs,
            spread: fastrand::u64(..),
        };
        let order = match orders::price_order(&input, &catalogue, &uses, terms) {
            Ok(order) => order,
            // A retry of a request whose first attempt placed the order (its
            // answer lost, its idempotency claim taken over) finds the stock
            // it took itself (or a promotion's last use): the order it
            // placed is the answer.
            Err(
                refused @ (Error::OutOfStock(_)
                | Error::ProductUnavailable(..)
                | Error::CouponNotApplicable { .. }),
            ) => {
                return match app.store.get_order(&id).await? {
                    Some(placed) if placed.user_id == caller.user_id => Ok(placed),
                    _ => Err(refused),
                };
            }
            Err(other) => return Err(other),
        };
        match app
            .store
            .place_order(&order, limits.max_unpaid_orders, None)
            .await?
        {
            Placement::Placed => {
                metrics::count("OrdersPlaced", 1);
                return Ok(order);
            }
            Placement::Exists => return app.store.get_order(&id).await?.ok_or(Error::NotFound),
            Placement::TooManyUnpaid => return Err(Error::TooManyUnpaidOrders(limits.max_unpaid_orders)),
            Placement::Contended | Placement::CartChanged => {
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
        .list_orders(app.config.cursor_secret()?, &caller.user_id, limit, cursor)
        .await
}

/// The answer of an action on an order retried under its `Idempotency-Key`
/// after an attempt that may have applied (it answered a server error, or
/// died): finding the order already in a state the action leads to
/// (`reached`) is that attempt's success, answered with the order as it is.
pub async fn done_before(
    app: &App,
    caller: &Principal,
    id: &OrderId,
    retried: bool,
    reached: &[OrderStatus],
    result: Result<Order, Error>,
) -> Result<Order, Error> {
    match result {
        Err(Error::InvalidState(now)) if retried && reached.contains(&now) => {
            get_order(app, caller, id).await
        }
        other => other,
    }
}

/// Cancels an unpaid order and releases its stock, exactly once.
pub async fn cancel_order(app: &App, caller: &Principal, id: &OrderId) -> Result<Order, Error> {
    let order = get_order(app, caller, id).await?;
    let to = transition(order.status, Event::Cancel)?;
    let now = Timestamp::now();
    app.store.release_order(&order, to, now, None).await?;
    metrics::count("OrdersCancelled", 1);
    cancel_intent(app, &order.id).await;
    Ok(orders::moved(order, to, now))
}

/// Cancels every order still unpaid at `now`, releasing its stock, within
/// a minute. See [`expire_orders_until`].
pub async fn expire_orders(app: &App, now: Timestamp) -> Result<ExpiryReport, Error> {
    expire_orders_until(app, now, Deadline::after(std::time::Duration::from_secs(60))).await
}

/// Cancels every order still unpaid at `now`, releasing its stock: every
/// shard of the pending index, a page at a time, several shards and every
/// order of a page at once. An order that fails is logged and left for the
/// next run, as is everything once `deadline` is near. Safe to run twice, or
/// beside a cancel or a payment: each release is conditional on the order
/// still awaiting payment.
pub async fn expire_orders_until(
    app: &App,
    now: Timestamp,
    deadline: Deadline,
) -> Result<ExpiryReport, Error> {
    let report = std::sync::Mutex::new(ExpiryReport::default());
    let tally = |change: &dyn Fn(&mut ExpiryReport)| {
        if let Ok(mut report) = report.lock() {
            change(&mut report);
        }
    };
    let sweep = |shard: u32| async move {
        let mut start = None;
        loop {
            if deadline.remaining() < EXPIRY_STOP_BEFORE {
                tally(&|r| r.unfinished = true);
                return;
            }
            let (due, next) = match app
                .store
                .orders_due_for_expiry(shard, now, EXPIRY_PAGE, start)
                .await
            {
                Ok(page) => page,
                Err(err) => {
                    tracing::error!(shard, error = %err, "could not read due orders; the next run will");
                    tally(&|r| r.failed += 1);
                    return;
                }
            };
            let releases = due.iter().map(|order| async move {
                let Some(to) = next_status(order.status, Event::Expire) else {
                    return Ok(false);
                };
                match app.store.release_order(order, to, now, Some(now)).await {
                    Ok(()) => {
                        cancel_intent(app, &order.id).await;
                        Ok(true)
                    }
                    Err(Error::InvalidState(_)) => Ok(false),
                    Err(err) => {
                        tracing::error!(order = %order.id, error = %err, "could not expire an order; the next run will");
                        Err(())
                    }
                }
            });
            for released in futures::future::join_all(releases).await {
                match released {
                    Ok(true) => tally(&|r| r.expired += 1),
                    Ok(false) => tally(&|r| r.skipped += 1),
                    Err(()) => tally(&|r| r.failed += 1),
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return,
            }
        }
    };
    futures::stream::iter(0..app.store.pending_shards())
        .for_each_concurrent(EXPIRY_SHARDS_AT_ONCE, sweep)
        .await;
    let report = report.into_inner().unwrap_or_default();
    metrics::count("OrdersExpired", u64::try_from(report.expired).unwrap_or_default());
    Ok(report)
}

/// Cancels the provider's side of the payment of an order that will never
/// be paid now (cancelled, expired), so that no card can be charged for it.
/// Best effort: a failure is logged, and a payment that lands all the same
/// is refunded as a late payment.
async fn cancel_intent(app: &App, order: &OrderId) {
    let started = match app.store.get_payment(order).await {
        Ok(Some(record)) => record.payment,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(%order, error = %err, "could not read the payment to cancel its intent");
            return;
        }
    };
    let provider = match app.payments() {
        Ok(provider) => provider,
        Err(err) => {
            tracing::error!(%order, error = %err, "no provider to cancel the payment intent with");
            return;
        }
    };
    if started.status != PaymentStatus::RequiresPayment || started.provider != provider.kind() {
        return;
    }
    let key = format!("shop-order-{order}-cancel-intent");
    if let Err(err) = provider.cancel_intent(&started.provider_payment_id, key).await {
        tracing::warn!(%order, error = %err, "could not cancel the payment intent; a late payment would be refunded");
    }
}
