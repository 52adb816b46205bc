//! `GET /products/{id}/reviews`: a product's reviews, newest first.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::products::ProductId;
use shared::usecases::reviews;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let product = request.path_id::<ProductId>("id")?;
    let (limit, cursor) = request.page_params()?;
    http::ok_public(&reviews::list_product_reviews(app, &product, limit, cursor.as_deref()).await?)
}
