//! Catalogue search (decision 73): the indexer keeps each product's words
//! from the table's stream; `GET /products?q=` reads each query word's
//! postings, keeps the products every word matched, reads them, and ranks
//! best matches first, then the most sold.

use std::collections::HashMap;

use crate::app::App;
use crate::foundation::cursor::{self, Key, Page};
use crate::foundation::error::Error;
use crate::model::products::{Category, Product, ProductId, ProductRecord, ProductState};
use crate::model::search::{self, MAX_CANDIDATES, Match, Query};
use crate::model::users::CountryCode;
use crate::usecases::pricing;

/// Writes what a product's change does to the index (its new words, its
/// words' new places or category, the words it lost; all of them when it
/// is deleted). Idempotent: a replayed change writes the same postings.
pub async fn index_product(
    app: &App,
    id: &ProductId,
    before: Option<&ProductRecord>,
    after: Option<&ProductRecord>,
) -> Result<(), Error> {
    let (written, removed) = search::reindex(before, after);
    if written.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let category = after.map(|p| &p.category);
    app.store.write_postings(id, category, &written, &removed).await
}

/// A page of the products for sale (and priced in `country`'s market)
/// that match every word of `query`, in `category` if given: one `Query`
/// per word (of one partition each, at once), then the products every
/// word matched read by key (at most [`MAX_CANDIDATES`]), ranked.
pub async fn search_products(
    app: &App,
    query: &Query,
    category: Option<&Category>,
    country: Option<&CountryCode>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Product>, Error> {
    let secret = app.config.cursor_secret()?;
    let scope = format!(
        "search:{}|{}|{}",
        query.scope(),
        category.map(Category::as_str).unwrap_or_default(),
        country.map(CountryCode::as_str).unwrap_or_default()
    );
    let offset = match cursor {
        Some(cursor) => cursor::decode(secret, &scope, cursor)?
            .get("offset")
            .and_then(|o| o.parse::<usize>().ok())
            .ok_or_else(|| Error::invalid("cursor", "is not a valid cursor for this listing"))?,
        None => 0,
    };
    if query.words.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let last = query.words.len() - 1;
    let lookups = query
        .words
        .iter()
        .enumerate()
        .map(|(i, word)| app.store.postings(word, i == last, category));
    let (found, (_, list)) = futures::try_join!(
        futures::future::try_join_all(lookups),
        pricing::price_list(app, country)
    )?;
    let per_word: Vec<Vec<(ProductId, u8, bool)>> = found
        .into_iter()
        .map(|postings| {
            postings
                .into_iter()
                .map(|p| (p.product, p.places, p.whole))
                .collect()
        })
        .collect();
    let mut scored = search::intersect(&per_word);
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(MAX_CANDIDATES);
    let ids: Vec<ProductId> = scored.iter().map(|(id, _)| id.clone()).collect();
    let states: HashMap<ProductId, ProductState> = app.store.products_by_id(&ids, false).await?;
    let store_country = &app.config.store_country;
    let mut matches: Vec<Match<ProductId>> = scored
        .into_iter()
        .filter_map(|(id, score)| {
            let state = states.get(&id)?;
            let product = state.listed(&list, store_country)?;
            product.price?;
            Some(Match {
                id,
                score,
                sold: state.sold(),
            })
        })
        .collect();
    search::rank(&mut matches);
    let items: Vec<Product> = matches
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|m| states.get(&m.id)?.listed(&list, store_country))
        .collect();
    let next = offset + limit;
    let next_cursor = (next < matches.len()).then(|| {
        let key: Key = [("offset".to_owned(), next.to_string())].into();
        cursor::encode(secret, &scope, &key)
    });
    Ok(Page { items, next_cursor })
}
