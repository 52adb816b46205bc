//! `POST /shipments/{id}/events` (admin; the carrier integration): records a tracking event; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::shipping::{NewShipmentEvent, ShipmentId, ShipmentStatus};
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let id = request.path_id::<ShipmentId>("id")?;
    let input: NewShipmentEvent = request.json()?;
    let delivering = input.status == ShipmentStatus::Delivered;
    let (admin, id) = (&admin, &id);
    idempotency::once(app, admin.principal(), &request, |attempt| async move {
        let added = shipping::add_event(app, admin, id, input).await;
        let retried_delivery = attempt.retried && delivering;
        http::created(&shipping::delivered_before(app, id, retried_delivery, added).await?)
    })
    .await
}
