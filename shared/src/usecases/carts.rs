//! Carts and checkout: read the customer's cart, change it with a write
//! conditional on the version read (so concurrent writes never lose one
//! another, and `If-Match` can name the version a client saw), price it on
//! every answer, and check it out as an order in one transaction that also
//! empties it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::adapters::metrics;
use crate::adapters::store::{CartWrite, Placement};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::{Error, NotShippable, Unavailable};
use crate::foundation::ids::ProductId;
use crate::foundation::input::Update;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Principal;
use crate::model::carts::{Cart, CartPatch, CartQuantity, CartView};
use crate::model::orders::{self, NewOrder, Order, OrderId, OrderTerms};
use crate::model::products::ProductState;
use crate::model::promotions::uses::UsesRead;
use crate::model::quote::Problem;
use crate::model::quote::{Destination, Quote, QuoteInput, QuoteTerms, Setup, quote};
use crate::usecases::{pricing, promotions};

/// Products by id, as read.
type Catalogue = HashMap<ProductId, ProductState>;
/// The uses of the promotions a cart needed read, by id.
type Uses = BTreeMap<String, UsesRead>;

/// How often a write without `If-Match` is tried when other writes to the
/// same cart keep getting in first (ten at once all land well within it).
const CART_WRITE_ATTEMPTS: u32 = 20;

/// The caller's cart as stored (empty, version 0, before the first write).
async fn read(app: &App, caller: &Principal) -> Result<Cart, Error> {
    Ok(app
        .store
        .get_cart(&caller.user_id)
        .await?
        .unwrap_or_else(|| Cart::empty(caller.user_id.clone())))
}

fn terms<'a>(app: &'a App, setup: &'a Setup, now: Timestamp) -> QuoteTerms<'a> {
    QuoteTerms {
        setup,
        base: app.config.store_currency,
        store_country: &app.config.store_country,
        now,
    }
}

/// `cart` priced from `catalogue`, `setup` and the promotions' `uses` now.
fn price_from(
    app: &App,
    cart: &Cart,
    catalogue: &Catalogue,
    setup: &Setup,
    uses: &Uses,
) -> Result<Quote, Error> {
    let lines = cart.lines();
    quote(
        QuoteInput {
            lines: &lines,
            destination: destination(cart),
            shipping_method: cart.shipping_method.as_ref(),
            coupon_codes: &cart.coupon_codes,
            uses,
        },
        catalogue,
        terms(app, setup, Timestamp::now()),
    )
}

/// The products of `cart` (and `also`), in one `BatchGetItem` (one more
/// for products with several stock counters), and the configuration (from
/// the function's cache).
async fn read_products(
    app: &App,
    cart: &Cart,
    also: Option<&ProductId>,
) -> Result<(Catalogue, Arc<Setup>), Error> {
    let mut ids: Vec<ProductId> = cart.items.iter().map(|i| i.product_id.clone()).collect();
    if let Some(extra) = also.filter(|extra| !ids.contains(extra)) {
        ids.push(extra.clone());
    }
    futures::try_join!(app.store.products_by_id(&ids, false), pricing::setup(app))
}

fn destination(cart: &Cart) -> Option<Destination<'_>> {
    cart.shipping_address.as_ref().map(|a| Destination {
        country: a.country(),
        region: a.region(),
    })
}

/// `GET /cart`: the caller's cart, priced now. Reads write nothing.
pub async fn get_cart(app: &App, caller: &Principal) -> Result<CartView, Error> {
    orders::may_order(caller)?;
    let cart = read(app, caller).await?;
    let (catalogue, setup) = read_products(app, &cart, None).await?;
    let uses = cart_uses(app, &cart, &setup).await?;
    Ok(CartView::new(
        &cart,
        price_from(app, &cart, &catalogue, &setup, &uses)?,
    ))
}

/// The uses `cart`'s promotions need read (none, most of the time).
async fn cart_uses(app: &App, cart: &Cart, setup: &Setup) -> Result<Uses, Error> {
    promotions::uses_for(app, &setup.promotions, &cart.coupon_codes, &cart.user_id, false).await
}

/// Reads the cart and its products (and `also`), applies `change` and
/// writes the result conditional on the version read; the answer is priced
/// from the products read. With `if_match`, a cart at another version (or
/// one that moves on before the write) is `412`; without, a lost race reads
/// and applies the change again. Three requests: the cart, its products,
/// the write (and the uses of its promotions that have limits). With
/// `check_coupons`, a code of the result that does not apply is `409
/// COUPON_NOT_APPLICABLE`, and nothing is written.
async fn change(
    app: &App,
    caller: &Principal,
    if_match: Option<u64>,
    also: Option<&ProductId>,
    check_coupons: bool,
    change: impl Fn(&mut Cart, &Catalogue, &Setup) -> Result<(), Error>,
) -> Result<CartView, Error> {
    orders::may_order(caller)?;
    for attempt in 0..CART_WRITE_ATTEMPTS {
        let cart = read(app, caller).await?;
        if if_match.is_some_and(|version| version != cart.version) {
            return Err(Error::PreconditionFailed);
        }
        let (catalogue, setup) = read_products(app, &cart, also).await?;
        let mut next = cart.clone();
        change(&mut next, &catalogue, &setup)?;
        let next = next.written(Timestamp::now());
        let uses = cart_uses(app, &next, &setup).await?;
        let quoted = price_from(app, &next, &catalogue, &setup, &uses)?;
        if check_coupons
            && let Some(refused) = quoted.problems.iter().find_map(|p| match p {
                Problem::CouponNotApplicable { coupon, reason } => Some(Error::CouponNotApplicable {
                    coupon: coupon.clone(),
                    reason: reason.as_str(),
                }),
                _ => None,
            })
        {
            if let Error::CouponNotApplicable { reason, .. } = &refused {
                promotions::count_refused(reason);
            }
            return Err(refused);
        }
        if app.store.put_cart(&next, cart.version).await? {
            return Ok(CartView::new(&next, quoted));
        }
        if if_match.is_some() {
            return Err(Error::PreconditionFailed);
        }
        backoff(attempt.min(4)).await;
    }
    Err(Error::Unavailable(
        "the cart kept changing while it was written".into(),
    ))
}

/// `PUT /cart/items/{product_id}`: sets a line's quantity. The product
/// must be sold in the cart's market (`409 PRODUCT_UNAVAILABLE`).
pub async fn put_item(
    app: &App,
    caller: &Principal,
    product_id: ProductId,
    quantity: CartQuantity,
    if_match: Option<u64>,
) -> Result<CartView, Error> {
    let limits = app.config.order_limits;
    change(
        app,
        caller,
        if_match,
        Some(&product_id),
        false,
        |cart, catalogue, setup| {
            let country = cart.shipping_address.as_ref().map(|a| a.country());
            let (_, prices) = setup.market(country, app.config.store_currency, Timestamp::now());
            let product = catalogue.get(&product_id).filter(|p| p.record.for_sale()).ok_or(
                Error::ProductUnavailable(product_id.clone(), Unavailable::Deleted),
            )?;
            if product.record.price_in(&prices).is_none() {
                return Err(Error::ProductUnavailable(
                    product_id.clone(),
                    Unavailable::NoPrice,
                ));
            }
            cart.set_quantity(&product_id, quantity.0, &limits)
        },
    )
    .await
}

/// `DELETE /cart/items/{product_id}`: removes a line (`404` when it is not
/// there).
pub async fn delete_item(
    app: &App,
    caller: &Principal,
    product_id: ProductId,
    if_match: Option<u64>,
) -> Result<CartView, Error> {
    change(app, caller, if_match, None, false, |cart, _, _| {
        cart.remove(&product_id)
    })
    .await
}

/// `PATCH /cart`: applies every field, then checks the result. A method
/// the resulting market does not have is `400`; when the patch sets
/// `coupon_codes`, a code that does not apply to the result (with its
/// limits, and at most one non-combinable code) is `409
/// COUPON_NOT_APPLICABLE`. Either way nothing is written.
pub async fn patch_cart(
    app: &App,
    caller: &Principal,
    patch: CartPatch,
    if_match: Option<u64>,
) -> Result<CartView, Error> {
    let check_coupons = patch.coupon_codes.is_some();
    change(app, caller, if_match, None, check_coupons, |cart, _, setup| {
        let chose_method = matches!(patch.shipping_method, Update::Set(_));
        cart.patch(patch.clone());
        if chose_method {
            let country = cart.shipping_address.as_ref().map(|a| a.country());
            let known = setup.find(country).is_some_and(|m| {
                m.settings
                    .shipping_methods
                    .iter()
                    .any(|method| Some(&method.code) == cart.shipping_method.as_ref())
            });
            if !known {
                return Err(Error::invalid(
                    "shipping_method",
                    "is not a shipping method of the cart's market",
                ));
            }
        }
        Ok(())
    })
    .await
}

/// `POST /cart/checkout`: the cart priced now, refused in the contract's
/// order (`CART_EMPTY`; `PRODUCT_UNAVAILABLE` / `OUT_OF_STOCK`;
/// `NOT_SHIPPABLE`; `COUPON_NOT_APPLICABLE`; `AMOUNT_OUT_OF_RANGE`; `PRICE_CHANGED` with the
/// repriced cart), else placed as `POST /orders` places an order, the cart
/// emptied in the same transaction (conditional on the version priced).
/// Of concurrent checkouts of one cart exactly one places the order; the
/// others find it empty. A retry under the same `Idempotency-Key` whose
/// first attempt got through is answered with that order.
pub async fn checkout(
    app: &App,
    caller: &Principal,
    expected_total: i64,
    id: OrderId,
) -> Result<Order, Error> {
    let placed = check_out(app, caller, expected_total, id).await;
    promotions::count_outcome(&placed);
    placed
}

async fn check_out(app: &App, caller: &Principal, expected_total: i64, id: OrderId) -> Result<Order, Error> {
    orders::may_place(caller, app.config.require_verified_email)?;
    let limits = app.config.order_limits;
    for attempt in 0..MAX_ATTEMPTS {
        let cart = read(app, caller).await?;
        if cart.items.is_empty() {
            return match app.store.get_order(&id).await? {
                Some(placed) if placed.user_id == caller.user_id => Ok(placed),
                _ => Err(Error::CartEmpty),
            };
        }
        let lines = cart.lines();
        let ids: Vec<ProductId> = lines.iter().map(|l| l.product_id.clone()).collect();
        let (catalogue, setup) =
            futures::try_join!(app.store.products_by_id(&ids, attempt > 0), pricing::setup(app))?;
        let uses = promotions::uses_for(
            app,
            &setup.promotions,
            &cart.coupon_codes,
            &caller.user_id,
            attempt > 0,
        )
        .await?;
        let now = Timestamp::now();
        let quoted = quote(
            QuoteInput {
                lines: &lines,
                destination: destination(&cart),
                shipping_method: cart.shipping_method.as_ref(),
                coupon_codes: &cart.coupon_codes,
                uses: &uses,
            },
            &catalogue,
            terms(app, &setup, now),
        )?;
        if let Some(refused) = quoted.refusal(&lines) {
            return Err(refused);
        }
        let Some(address) = cart.shipping_address.clone() else {
            return Err(Error::NotShippable(NotShippable::Address));
        };
        let input = NewOrder {
            items: lines,
            shipping_address: address,
            shipping_method: cart.shipping_method.clone(),
            coupon_codes: cart.coupon_codes.clone(),
        };
        orders::within_limits(&input, &limits)?;
        let order = orders::order_from_quote(
            &input,
            &catalogue,
            quoted.clone(),
            OrderTerms {
                id: id.clone(),
                user_id: caller.user_id.clone(),
                setup: &setup,
                base: app.config.store_currency,
                store_country: &app.config.store_country,
                now,
                ttl_secs: app.config.order_ttl_secs,
                spread: fastrand::u64(..),
            },
        )?;
        if order.total.minor() != expected_total {
            let repriced = serde_json::to_value(CartView::new(&cart, quoted)).map_err(Error::internal)?;
            return Err(Error::PriceChanged(Box::new(repriced)));
        }
        let emptied = CartWrite {
            cart: cart.checked_out(now),
            read_version: cart.version,
        };
        match app
            .store
            .place_order(&order, limits.max_unpaid_orders, Some(&emptied))
            .await?
        {
            Placement::Placed => {
                metrics::count("OrdersPlaced", 1);
                metrics::count("CartsCheckedOut", 1);
                return Ok(order);
            }
            Placement::Exists => return app.store.get_order(&id).await?.ok_or(Error::NotFound),
            Placement::TooManyUnpaid => return Err(Error::TooManyUnpaidOrders(limits.max_unpaid_orders)),
            // Another checkout (or a write) got to the cart first: read it
            // again (empty, if that was a checkout).
            Placement::CartChanged | Placement::Contended => backoff(attempt).await,
        }
    }
    Err(Error::Unavailable(
        "checkout kept losing races to other writers".into(),
    ))
}
