//! SQS worker: ships each confirmed payment's order (`payment_confirmed` on
//! the shipping queue) through the carrier `CARRIER` names, the records of
//! a batch at once, reporting failed records one by one (a batch out of
//! time goes back to its queue).
use shared::app::parts::{Carrier, Queues};
use shared::entry::worker;
use shared::usecases::shipping;

fn main() -> Result<(), shared::BoxError> {
    worker::run_sqs((Queues, Carrier), shipping::handle_message)
}
