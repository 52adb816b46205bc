//! `GET /products`: products for sale, newest first, optionally of one
//! `category`, priced in the market of `country`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::{parse_category_filter, parse_country};
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let (limit, cursor) = request.page_params()?;
    let category = parse_category_filter(request.query("category"))?;
    let country = parse_country(request.query("country"))?;
    let page =
        products::list_products(app, category.as_ref(), country.as_ref(), limit, cursor.as_deref()).await?;
    http::ok_public(&page)
}
