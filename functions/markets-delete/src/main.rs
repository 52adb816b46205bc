//! `DELETE /markets/{code}` (admin): deletes a market; its countries fall to the default.
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
    let code = MarketCode::parse(request.path_param("code")?).map_err(|_| shared::Error::NotFound)?;
    markets::delete_market(app, &admin, &code).await?;
    http::no_content()
}
