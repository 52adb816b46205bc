//! `GET /products/{id}/reviews`: a product's reviews, newest first.
use shared::http::{self, Answer, Request};
use shared::{App, products, reviews};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let product = products::parse_id(&request.path_param("id")?)?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&reviews::list_product_reviews(app, &product, limit, cursor.as_deref()).await?)
}
