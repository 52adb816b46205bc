//! `GET /orders/{id}/shipment` (owner, admin): the order's shipment, `404` until it exists.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let order_id = request.path_id::<OrderId>("id")?;
    http::ok(&shipping::get_shipment(app, &caller, &order_id).await?)
}
