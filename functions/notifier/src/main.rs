//! DynamoDB stream consumer: each committed change of the table sends
//! what it calls for (an order's email, its event on the shop's bus),
//! once per channel, in the stream's order.
use shared::app::parts::{Outbound, Secrets};
use shared::entry::worker;
use shared::usecases::notify;

fn main() -> Result<(), shared::BoxError> {
    worker::run_stream((Secrets, Outbound), notify::handle_change)
}
