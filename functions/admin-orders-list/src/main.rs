//! `GET /admin/orders` (admin): orders by status, market, customer email
//! and creation time, newest first, a page at a time.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::back_office::OrderSearch;
use shared::usecases::back_office;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let search = OrderSearch::parse(|name| request.query(name))?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&back_office::search_orders(app, &admin, &search, limit, cursor.as_deref()).await?)
}
