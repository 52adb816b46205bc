//! `POST /orders/{id}/refund` (owner while paid; admin while paid, shipped or delivered): asks for a full refund.
use shared::http::{self, Answer, Request};
use shared::{App, orders, refunds};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    let id = orders::parse_id(&request.path_param("id")?)?;
    http::accepted(&refunds::refund_order(app, &caller, &id).await?)
}
