//! SQS worker: refunds each `refund_requested` through the payment provider,
//! reporting failed records one by one.
use shared::app::parts::{Provider, Secrets};
use shared::entry::worker;
use shared::usecases::refunds;

fn main() -> Result<(), shared::BoxError> {
    worker::run_sqs((Secrets, Provider), refunds::handle_message)
}
