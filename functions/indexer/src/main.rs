//! DynamoDB stream consumer: each committed change of an order is added
//! to the day's sales figures once, and the days that have orders are
//! noted for the admins' order search.
use shared::entry::worker;
use shared::usecases::reports;

fn main() -> Result<(), shared::BoxError> {
    worker::run_stream((), reports::handle_change)
}
