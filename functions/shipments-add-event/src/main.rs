//! `POST /shipments/{id}/events` (admin; the carrier integration): records a tracking event.
use shared::http::{self, Answer, Request};
use shared::{App, shipping};

fn main() -> Result<(), shared::BoxError> {
    http::run(handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app)?;
    let id = shipping::parse_id(&request.path_param("id")?)?;
    let shipment = shipping::add_event(app, &admin, &id, request.json()?).await?;
    http::created(&shipment)
}
