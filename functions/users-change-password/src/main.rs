//! `PUT /users/me/password`: replaces the caller's password.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    users::change_password(app, &caller, request.json()?, &request.client_address()).await?;
    http::no_content()
}
