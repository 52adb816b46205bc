//! `POST /orders/{id}/refund` (owner while paid; admin while paid, shipped or delivered): asks for a full refund.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    let id = request.path_id::<OrderId>("id")?;
    http::accepted(&refunds::refund_order(app, &caller, &id).await?)
}
