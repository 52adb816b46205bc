//! `POST /orders/{id}/return` (owner, within 30 days of delivery): asks to return an order; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::orders::{OrderId, OrderStatus};
use shared::usecases::orders;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let id = request.path_id::<OrderId>("id")?;
    let input = request.json()?;
    let (caller, id) = (&caller, &id);
    idempotency::once(app, caller, &request, |attempt| async move {
        let asked = refunds::request_return(app, caller, id, input).await;
        let reached = [OrderStatus::ReturnRequested];
        http::accepted(&orders::done_before(app, caller, id, attempt.retried, &reached, asked).await?)
    })
    .await
}
