//! `POST /orders` (customer): places an order, reserving its stock; honours `Idempotency-Key`.
use shared::http::{self, Answer, Request};
use shared::orders::{self, OrderId};
use shared::{App, idempotency};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = &request.caller(app)?;
    let input = request.json()?;
    idempotency::once(app, caller, &request, |id| async move {
        let order = orders::place_order(app, caller, input, OrderId::from_uuid(id)).await?;
        http::created(&order)
    })
    .await
}
