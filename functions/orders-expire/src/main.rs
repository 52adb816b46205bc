//! Scheduled: cancels the orders left unpaid past `expires_at` and releases
//! their stock.
use shared::app::parts::{Provider, Secrets};
use shared::entry::worker;
use shared::foundation::clock::{Deadline, Timestamp};
use shared::usecases::orders::{self, ExpiryReport};
use shared::{App, Error};

fn main() -> Result<(), shared::BoxError> {
    worker::run_scheduled((Secrets, Provider), handle)
}

async fn handle(
    app: &'static App,
    _tick: worker::ScheduledEvent,
    deadline: Deadline,
) -> Result<ExpiryReport, Error> {
    orders::expire_orders_until(app, Timestamp::now(), deadline).await
}
