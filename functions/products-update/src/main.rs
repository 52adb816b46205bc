//! `PATCH /products/{id}` (admin): changes a product; `stock_delta` is an atomic add.
use shared::http::{self, Answer, Request};
use shared::{App, products};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = products::parse_id(&request.path_param("id")?)?;
    let product = products::update_product(app, &admin, &id, request.json()?).await?;
    http::ok(&product)
}
