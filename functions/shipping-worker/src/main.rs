//! SQS worker: ships each confirmed payment's order (`payment_confirmed` on
//! the shipping queue), reporting failed records one by one.
use shared::entry::worker;
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    worker::run_sqs((), shipping::handle_message)
}
