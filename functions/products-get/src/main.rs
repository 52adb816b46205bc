//! `GET /products/{id}`: one product for sale.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::ProductId;
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let id = request.path_id::<ProductId>("id")?;
    http::ok_public(&products::get_product(app, &id).await?)
}
