//! `POST /carrier/events`: the carrier's signed tracking events (its own secret; no admin's password). Called by the carrier, never by users.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let signature = request.header("carrier-signature");
    http::ok(&shipping::carrier_event(app, signature, request.body_bytes()).await?)
}
