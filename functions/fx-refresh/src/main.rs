//! Scheduled, daily: takes the European Central Bank's euro reference
//! rates from `FX_RATES_URL`, rebased to the store's currency; a failure
//! keeps the last rates and counts `FxRefreshFailed` (alarmed).
use shared::entry::worker;
use shared::foundation::clock::Deadline;
use shared::usecases::fx::{self, RefreshReport};
use shared::{App, Error};

fn main() -> Result<(), shared::BoxError> {
    worker::run_scheduled((), handle)
}

async fn handle(
    app: &'static App,
    _tick: worker::ScheduledEvent,
    _deadline: Deadline,
) -> Result<RefreshReport, Error> {
    fx::refresh(app).await
}
