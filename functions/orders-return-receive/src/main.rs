//! `POST /orders/{id}/return/receive` (admin): the returned goods arrived; refund and restock.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = request.path_id::<OrderId>("id")?;
    http::accepted(&refunds::receive_return(app, &admin, &id).await?)
}
