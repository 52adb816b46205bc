//! `PATCH /products/{id}` (admin): changes a product; `stock_delta` is an atomic add.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::ProductId;
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = request.path_id::<ProductId>("id")?;
    let product = products::update_product(app, &admin, &id, request.json()?).await?;
    http::ok(&product)
}
