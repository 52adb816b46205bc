//! `GET /users/me`: the caller's own profile.
use shared::http::{self, Answer, Request};
use shared::{App, users};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app)?;
    http::ok(&users::get_me(app, &caller).await?)
}
