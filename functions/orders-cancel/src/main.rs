//! `POST /orders/{id}/cancel` (owner, admin): cancels an unpaid order and releases its stock; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::{Provider, Secrets};
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::orders::{OrderId, OrderStatus};
use shared::usecases::orders;

fn main() -> Result<(), shared::BoxError> {
    http::run((Secrets, Provider), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let id = request.path_id::<OrderId>("id")?;
    let (caller, id) = (&caller, &id);
    idempotency::once(app, caller, &request, |attempt| async move {
        let cancelled = orders::cancel_order(app, caller, id).await;
        let reached = [OrderStatus::Cancelled];
        http::ok(&orders::done_before(app, caller, id, attempt.retried, &reached, cancelled).await?)
    })
    .await
}
