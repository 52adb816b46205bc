//! `DELETE /products/{id}` (admin): takes a product off sale.
use shared::http::{self, Answer, Request};
use shared::{App, products};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = products::parse_id(&request.path_param("id")?)?;
    products::delete_product(app, &admin, &id).await?;
    http::no_content()
}
