//! `POST /cart/checkout` (customer): places the cart as an order at the
//! total the client saw, emptying it; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::carts::Checkout;
use shared::model::orders::OrderId;
use shared::usecases::carts;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = &request.caller(app).await?;
    let Checkout { expected_total } = request.json()?;
    idempotency::once(app, caller, &request, |attempt| async move {
        let order = carts::checkout(app, caller, expected_total, OrderId::from_uuid(attempt.id)).await?;
        http::created(&order)
    })
    .await
}
