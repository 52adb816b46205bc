//! `GET /orders/{id}` (owner, admin): one order.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::orders;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let id = request.path_id::<OrderId>("id")?;
    http::ok(&orders::get_order(app, &caller, &id).await?)
}
