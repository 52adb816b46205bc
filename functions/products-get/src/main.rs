//! `GET /products/{id}`: one product for sale.
use shared::http::{self, Answer, Request};
use shared::{App, products};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let id = products::parse_id(&request.path_param("id")?)?;
    http::ok(&products::get_product(app, &id).await?)
}
