//! `GET /promotions` (admin): every promotion, oldest first, with `used`,
//! a page at a time.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::promotions;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&promotions::list(app, &admin, limit, cursor.as_deref()).await?)
}
