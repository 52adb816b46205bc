//! `DELETE /fx-rates/{currency}` (admin): drops a manual rate.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::foundation::money::Currency;
use shared::usecases::fx;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    // As answered: an upper-case code; anything else names no rate.
    let code = request.path_param("currency")?;
    let currency = Some(code)
        .filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()))
        .and_then(|c| Currency::parse(c).ok())
        .ok_or(shared::Error::NotFound)?;
    fx::delete_rate(app, &admin, currency).await?;
    http::no_content()
}
