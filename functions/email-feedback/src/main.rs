//! SNS subscriber: SES's bounce and complaint reports put the addresses on
//! the shop's suppression list, which the notifier honours.
use shared::entry::worker;
use shared::usecases::notify;

fn main() -> Result<(), shared::BoxError> {
    worker::run_sns((), notify::handle_feedback)
}
