//! `POST /auth/login`: exchanges email and password for an access token.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let session = users::login(app, request.json()?, &request.client_address()).await?;
    http::ok(&session)
}
