//! DynamoDB stream consumer: each committed change of an order is added
//! to the day's sales figures once (and the days that have orders are
//! noted for the admins' order search); each product's change rewrites
//! its words in the catalogue's search index.
use shared::entry::worker;
use shared::usecases::indexer;

fn main() -> Result<(), shared::BoxError> {
    worker::run_stream((), indexer::handle_change)
}
