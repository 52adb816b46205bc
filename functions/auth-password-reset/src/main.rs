//! `POST /auth/password-reset`: emails a reset link to an email with an
//! account, and answers `202` for every email.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let sent = users::request_reset(app, request.json()?, &request.client_address()).await?;
    http::accepted(&sent)
}
