//! `PATCH /promotions/{id}` (admin): `active`, `name`, `ends_at`,
//! `usage_limit` (its counters re-allotted in the same transaction).
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
    let patch = request.json()?;
    http::ok(&promotions::patch(app, &admin, &id, patch).await?)
}
