//! `PUT /fx-rates` (admin): sets the named rates as manual.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::fx;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let rates = request.json()?;
    http::ok(&fx::put_rates(app, &admin, rates).await?)
}
