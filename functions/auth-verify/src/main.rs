//! `POST /auth/verify`: verifies the account a verification token names.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let user = users::verify(app, request.json()?).await?;
    http::ok(&user)
}
