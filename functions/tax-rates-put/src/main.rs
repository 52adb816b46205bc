//! `PUT /tax-rates/{country}` (admin): replaces a country's tax rates.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::users::CountryCode;
use shared::usecases::tax;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let country = CountryCode::strict(request.path_param("country")?)
        .map_err(|msg| shared::Error::invalid("country", msg))?;
    let settings = request.json()?;
    http::ok(&tax::put_tax_rates(app, &admin, country, settings).await?)
}
