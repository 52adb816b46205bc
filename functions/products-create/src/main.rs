//! `POST /products` (admin): adds a product to the catalogue.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let product = products::create_product(app, &admin, request.json()?).await?;
    http::created(&product)
}
