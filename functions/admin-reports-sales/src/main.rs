//! `GET /admin/reports/sales?from=&to=` (admin): each day's figures per
//! currency, from the indexer's counters.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::reports;
use shared::usecases::reports as sales;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let (from, to) = reports::parse_range(request.query("from").as_deref(), request.query("to").as_deref())?;
    http::ok(&sales::sales(app, &admin, from, to).await?)
}
