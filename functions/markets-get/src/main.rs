//! `GET /markets/{code}`: one market.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::model::markets::MarketCode;
use shared::usecases::markets;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let code = request.path_param("code")?;
    let code = MarketCode::parse(code).map_err(|_| shared::Error::NotFound)?;
    http::ok(&markets::get_market(app, &code).await?)
}
