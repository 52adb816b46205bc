//! The end-to-end tests: journeys through the shop's HTTP API, by the local
//! gateway in `make test`, or a deployed stack's API Gateway in
//! `make test-deployed`. One test binary of modules, so the tests link once.

mod back_office;
mod catalogue;
mod checkout;
mod console;
mod markets;
mod orders;
mod payments;
mod refunds;
mod reviews;
mod selling;
mod users;
