//! `GET /orders/{id}` (owner, admin): one order.
use shared::http::{self, Answer, Request};
use shared::{App, orders};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    let id = orders::parse_id(&request.path_param("id")?)?;
    http::ok(&orders::get_order(app, &caller, &id).await?)
}
