//! `POST /orders/{id}/cancel` (owner, admin): cancels an unpaid order and releases its stock.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::orders;

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    let id = request.path_id::<OrderId>("id")?;
    http::ok(&orders::cancel_order(app, &caller, &id).await?)
}
