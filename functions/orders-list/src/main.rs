//! `GET /orders`: the caller's own orders, newest first.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::orders;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&orders::list_orders(app, &caller, limit, cursor.as_deref()).await?)
}
