//! `POST /auth/register`: creates a customer account.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let user = users::register(app, request.json()?, &request.client_address()).await?;
    http::created(&user)
}
