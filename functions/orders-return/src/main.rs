//! `POST /orders/{id}/return` (owner, within 30 days of delivery): asks to return an order.
use shared::http::{self, Answer, Request};
use shared::{App, orders, refunds};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    let id = orders::parse_id(&request.path_param("id")?)?;
    let order = refunds::request_return(app, &caller, &id, request.json()?).await?;
    http::accepted(&order)
}
