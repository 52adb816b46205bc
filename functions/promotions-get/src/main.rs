//! `GET /promotions/{id}` (admin): one promotion and its `used`, read from
//! its counters.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::foundation::ids::PromotionId;
use shared::usecases::promotions;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let id = PromotionId::parse(&request.path_param("id")?).map_err(|_| shared::Error::NotFound)?;
    http::ok(&promotions::get(app, &admin, &id).await?)
}
