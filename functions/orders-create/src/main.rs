//! `POST /orders` (customer): places an order, reserving its stock; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::orders::OrderId;
use shared::usecases::orders;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = &request.caller(app).await?;
    let input = request.json()?;
    idempotency::once(app, caller, &request, |attempt| async move {
        let order = orders::place_order(app, caller, input, OrderId::from_uuid(attempt.id)).await?;
        http::created(&order)
    })
    .await
}
