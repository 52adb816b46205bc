//! `GET /markets`: every market, the default first, a page at a time.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::markets;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let (limit, cursor) = request.page_params()?;
    http::ok(&markets::list_markets_page(app, limit, cursor.as_deref()).await?)
}
