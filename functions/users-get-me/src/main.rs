//! `GET /users/me`: the caller's own profile.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    http::ok(&users::get_me(app, &caller).await?)
}
