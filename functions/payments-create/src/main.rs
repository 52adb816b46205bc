//! `POST /orders/{id}/payment` (owner): starts the payment of an unpaid order; `201` the first time, `200` with the same payment after.
use shared::App;
use shared::app::parts::{Provider, Secrets};
use shared::entry::http::{self, Answer, Request};
use shared::model::orders::OrderId;
use shared::usecases::payments::{self, PaymentStart};

fn main() -> Result<(), shared::BoxError> {
    http::run((Secrets, Provider), handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let order_id = request.path_id::<OrderId>("id")?;
    match payments::start_payment(app, &caller, &order_id).await? {
        PaymentStart::Created(payment) => http::created(&payment),
        PaymentStart::Existing(payment) => http::ok(&payment),
    }
}
