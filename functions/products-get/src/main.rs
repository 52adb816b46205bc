//! `GET /products/{id}`: one product for sale, priced in the market of `country`.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::{ProductId, parse_country};
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let id = request.path_id::<ProductId>("id")?;
    let country = parse_country(request.query("country"))?;
    http::ok_public(&products::get_product(app, &id, country.as_ref()).await?)
}
