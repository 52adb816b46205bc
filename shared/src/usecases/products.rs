//! The catalogue's use cases: admins manage products, everyone reads them.

use crate::adapters::store::{Patched, Store};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::{Error, Shortage};
use crate::foundation::money::Currency;
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Admin;
use crate::model::idempotency::Mark;
use crate::model::markets::PriceList;
use crate::model::products::{
    Category, NewProduct, Product, ProductId, ProductPatch, ProductRecord, ProductState, RatingTotals,
    StockChangeError, StockCounter, counters_for_stock, plan_stock_change, spread_evenly,
};
use crate::model::users::CountryCode;
use crate::usecases::pricing;

pub async fn create_product(app: &App, _admin: &Admin, input: NewProduct) -> Result<Product, Error> {
    add_product(
        &app.store,
        input,
        &app.config.store_currency,
        &app.config.store_country,
    )
    .await
}

/// Adds a product to the catalogue (the operator tool's seeding uses
/// this), answered as the default market shows it.
pub async fn add_product(
    store: &Store,
    input: NewProduct,
    currency: &Currency,
    country: &CountryCode,
) -> Result<Product, Error> {
    let record = ProductRecord::new(&input, *currency, country, Timestamp::now());
    store.put_product(&record, input.stock).await?;
    let counters = (0..)
        .zip(spread_evenly(input.stock, record.stock_counters))
        .map(|(index, stock)| StockCounter {
            index,
            stock,
            rating: RatingTotals::default(),
            sold: 0,
        })
        .collect();
    let added = ProductState { record, counters };
    Ok(added.to_product(&PriceList::base(*currency), country))
}

/// A product for sale, priced in the market of `country` (the default
/// market without one); `price` is null where it is not sold.
pub async fn get_product(app: &App, id: &ProductId, country: Option<&CountryCode>) -> Result<Product, Error> {
    let (state, (_, list)) =
        futures::try_join!(app.store.product_for_sale(id), pricing::price_list(app, country))?;
    state
        .map(|state| state.to_product(&list, &app.config.store_country))
        .ok_or(Error::NotFound)
}

/// Products for sale, newest first, priced in the market of `country`; a
/// product not sold there is left out (so a page may hold fewer than
/// `limit`; `next_cursor` goes on after the last one read).
pub async fn list_products(
    app: &App,
    category: Option<&Category>,
    country: Option<&CountryCode>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Product>, Error> {
    let (page, (_, list)) = futures::try_join!(
        app.store
            .list_products(app.config.cursor_secret()?, category, limit, cursor),
        pricing::price_list(app, country)
    )?;
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|state| state.to_product(&list, &app.config.store_country))
            .filter(|product| product.price.is_some())
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Applies a patch. Under an `Idempotency-Key` (`mark`), the patch applies
/// once however often it is retried: its `stock_delta` is an addition, which
/// no state can tell was made already, so the write marks the key's record
/// in its own transaction.
pub async fn update_product(
    app: &App,
    _admin: &Admin,
    id: &ProductId,
    patch: ProductPatch,
    mark: Option<&Mark>,
) -> Result<Product, Error> {
    if patch == ProductPatch::default() {
        return get_product(app, id, None).await;
    }
    let store = &app.store;
    for attempt in 0..MAX_ATTEMPTS {
        let state = store
            .product_state(id, true)
            .await?
            .filter(|state| state.record.for_sale())
            .ok_or(Error::NotFound)?;
        // A restock that takes the stock past what its counters are for
        // spreads it further by itself (an admin's count wins).
        let counters = patch.stock_counters.or_else(|| {
            let after = counters_for_stock(state.stock() + patch.stock_delta);
            (patch.stock_delta > 0 && after > state.record.stock_counters).then_some(after)
        });
        let writes = plan_stock_change(&state.counters, patch.stock_delta, counters)
            .map_err(|refused| stock_change_refused(id, &patch, refused))?;
        let mut patch = patch.clone();
        patch.stock_counters = counters;
        match store
            .patch_product(&state, &patch, &writes, mark, Timestamp::now())
            .await?
        {
            Patched::Applied => {
                return store
                    .product_state(id, true)
                    .await?
                    .and_then(|state| {
                        state.listed(
                            &PriceList::base(app.config.store_currency),
                            &app.config.store_country,
                        )
                    })
                    .ok_or(Error::NotFound);
            }
            // A concurrent order or edit got in between: read again.
            Patched::Contended => backoff(attempt).await,
        }
    }
    Err(Error::Unavailable(
        "the product kept changing while it was edited".into(),
    ))
}

/// The answer to a stock change the counters cannot take.
fn stock_change_refused(id: &ProductId, patch: &ProductPatch, refused: StockChangeError) -> Error {
    match refused {
        StockChangeError::Short { available } => Error::OutOfStock(vec![Shortage {
            product_id: id.clone(),
            requested: u32::try_from(-patch.stock_delta).unwrap_or(u32::MAX),
            available,
        }]),
        StockChangeError::Shrink { counters } => Error::CountersCannotShrink(counters),
    }
}

pub async fn delete_product(app: &App, _admin: &Admin, id: &ProductId) -> Result<(), Error> {
    app.store.delete_product(id, Timestamp::now()).await
}
