//! `DELETE /products/{id}` (admin): takes a product off sale.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::ProductId;
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let id = request.path_id::<ProductId>("id")?;
    products::delete_product(app, &admin, &id).await?;
    http::no_content()
}
