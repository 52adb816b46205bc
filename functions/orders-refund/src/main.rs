//! `POST /orders/{id}/refund` (owner while paid; admin while paid, shipped or delivered): asks for a full refund; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::{Queues, Secrets};
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::orders::{OrderId, OrderStatus};
use shared::usecases::orders;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    http::run((Secrets, Queues), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let id = request.path_id::<OrderId>("id")?;
    let (caller, id) = (&caller, &id);
    idempotency::once(app, caller, &request, |attempt| async move {
        let asked = refunds::refund_order(app, caller, id).await;
        let reached = [OrderStatus::RefundPending, OrderStatus::Refunded];
        http::accepted(&orders::done_before(app, caller, id, attempt.retried, &reached, asked).await?)
    })
    .await
}
