//! `POST /promotions` (admin): a promotion, its code claimed and its use
//! counters written in one transaction.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::promotions;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let promotion = promotions::create(app, &admin, request.json()?).await?;
    http::created(&promotion)
}
