//! `PUT /markets/{code}` (admin): creates a market (`201`) or replaces its settings (`200`).
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::markets::MarketCode;
use shared::usecases::markets;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let code =
        MarketCode::parse(request.path_param("code")?).map_err(|msg| shared::Error::invalid("code", msg))?;
    let settings = request.json()?;
    match markets::put_market(app, &admin, code, settings).await? {
        (market, true) => http::created(&market),
        (market, false) => http::ok(&market),
    }
}
