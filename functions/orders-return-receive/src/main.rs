//! `POST /orders/{id}/return/receive` (admin): the returned goods arrived; refund and restock; honours `Idempotency-Key`.
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
    let admin = request.admin(app).await?;
    let id = request.path_id::<OrderId>("id")?;
    let (admin, id) = (&admin, &id);
    idempotency::once(app, admin.principal(), &request, |attempt| async move {
        let received = refunds::receive_return(app, admin, id).await;
        let reached = [OrderStatus::RefundPending, OrderStatus::Refunded];
        let caller = admin.principal();
        http::accepted(&orders::done_before(app, caller, id, attempt.retried, &reached, received).await?)
    })
    .await
}
