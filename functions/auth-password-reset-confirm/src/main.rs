//! `POST /auth/password-reset/confirm`: sets a new password with a reset
//! token, revoking every token before it.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    users::confirm_reset(app, request.json()?, &request.client_address()).await?;
    http::no_content()
}
