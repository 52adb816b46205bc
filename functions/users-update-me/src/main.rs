//! `PATCH /users/me`: changes the caller's name or address.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let user = users::update_me(app, &caller, request.json()?).await?;
    http::ok(&user)
}
