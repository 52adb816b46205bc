//! `POST /shipments/{id}/events` (admin; the carrier integration): records a tracking event; honours `Idempotency-Key`.
use shared::App;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::shipping::ShipmentId;
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = request.path_id::<ShipmentId>("id")?;
    let input = request.json()?;
    idempotency::once(app, admin.principal(), &request, |_| async {
        http::created(&shipping::add_event(app, &admin, &id, input).await?)
    })
    .await
}
