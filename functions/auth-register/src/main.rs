//! `POST /auth/register`: signs a customer up (unverified; the link to
//! verify comes by email) and answers `202` whether or not the email had
//! an account.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::users;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let language = request.header("accept-language");
    let sent = users::register(app, request.json()?, &request.client_address(), language).await?;
    http::accepted(&sent)
}
