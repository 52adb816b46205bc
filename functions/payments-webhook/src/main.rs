//! `POST /payments/webhook`: the payment provider's signed events. Called by the provider, never by users.
use shared::App;
use shared::app::parts::{Provider, Queues, Secrets};
use shared::entry::http::{self, Answer, Request};
use shared::usecases::payments;

fn main() -> Result<(), shared::BoxError> {
    http::run((Secrets, Queues, Provider), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let outcome =
        payments::handle_webhook(app, request.header("stripe-signature"), request.body_bytes()).await?;
    tracing::info!(?outcome, "webhook handled");
    http::ok(&serde_json::json!({"received": true}))
}
