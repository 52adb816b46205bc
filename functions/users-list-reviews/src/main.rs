//! `GET /users/me/reviews`: the caller's own reviews, newest first.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::reviews;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&reviews::list_my_reviews(app, &caller, limit, cursor.as_deref()).await?)
}
