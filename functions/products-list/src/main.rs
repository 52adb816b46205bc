//! `GET /products`: products for sale, newest first, optionally of one
//! `category`, priced in the market of `country`; with `q`, those that
//! match its words, best matches first.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::{parse_category_filter, parse_country};
use shared::model::search::Query;
use shared::usecases::{products, search};

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let (limit, cursor) = request.page_params()?;
    let category = parse_category_filter(request.query("category"))?;
    let country = parse_country(request.query("country"))?;
    let (category, country, cursor) = (category.as_ref(), country.as_ref(), cursor.as_deref());
    let page = match request.query("q") {
        Some(q) => search::search_products(app, &Query::parse(&q)?, category, country, limit, cursor).await?,
        None => products::list_products(app, category, country, limit, cursor).await?,
    };
    http::ok_public(&page)
}
