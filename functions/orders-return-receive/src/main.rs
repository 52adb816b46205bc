//! `POST /orders/{id}/return/receive` (admin): the returned goods arrived; refund and restock.
use shared::http::{self, Answer, Request};
use shared::{App, orders, refunds};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = orders::parse_id(&request.path_param("id")?)?;
    http::accepted(&refunds::receive_return(app, &admin, &id).await?)
}
