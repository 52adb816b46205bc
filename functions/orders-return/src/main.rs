//! `POST /orders/{id}/return` (owner, within 30 days of delivery): asks to return an order.
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
    let order = refunds::request_return(app, &caller, &id, request.json()?).await?;
    http::accepted(&order)
}
