//! Scheduled: re-sends hand-offs a crash or a fault left owed past their
//! grace period, and counts refunds the provider refused (the alarm's metric).
use shared::app::parts::Queues;
use shared::entry::worker;
use shared::foundation::clock::{Deadline, Timestamp};
use shared::usecases::reconcile::{self, ReconcileReport};
use shared::{App, Error};

fn main() -> Result<(), shared::BoxError> {
    worker::run_scheduled(Queues, handle)
}

async fn handle(
    app: &'static App,
    _tick: worker::ScheduledEvent,
    deadline: Deadline,
) -> Result<ReconcileReport, Error> {
    reconcile::reconcile(app, Timestamp::now(), deadline).await
}
