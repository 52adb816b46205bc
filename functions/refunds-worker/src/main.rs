//! SQS worker: refunds each `refund_requested` through the payment provider,
//! the records of a batch at once, reporting failed records one by one (a
//! batch out of time goes back to its queue).
use shared::app::parts::{Provider, Queues, Secrets};
use shared::entry::worker;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    worker::run_sqs((Secrets, Provider, Queues), refunds::handle_message)
}
