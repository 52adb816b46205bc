//! Scheduled: cancels the orders left unpaid past `expires_at` and releases
//! their stock.
use shared::clock::Timestamp;
use shared::orders::{self, ExpiryReport};
use shared::{App, Error, worker};

fn main() -> Result<(), shared::BoxError> {
    worker::run_scheduled(handle)
}

async fn handle(app: &'static App, _tick: worker::ScheduledEvent) -> Result<ExpiryReport, Error> {
    orders::expire_orders(app, Timestamp::now()).await
}
