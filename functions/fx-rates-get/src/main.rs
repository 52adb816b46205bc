//! `GET /fx-rates` (admin): the exchange rates from the base currency.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::fx;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    http::ok(&fx::get_rates(app, &admin).await?)
}
