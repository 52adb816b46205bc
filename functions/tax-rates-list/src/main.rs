//! `GET /tax-rates` (admin): every country's tax rates, the shop's defaults
//! included, by country, a page at a time.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::tax;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&tax::list_tax_rates(app, &admin, limit, cursor.as_deref()).await?)
}
