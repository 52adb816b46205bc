//! The integration tests: the shop's use cases, workers and store against
//! the emulator (each test on a table and queues of its own), the emulator's
//! conformance, and `template.yaml` against the code. One test binary of
//! modules, so the tests link once.

mod accounts;
mod back_office;
mod carts;
mod checkout;
mod emulator;
mod faults;
mod hot_products;
mod markets;
mod notifications;
mod orders;
mod payments;
mod promotions;
mod refunds;
mod reviews;
mod search;
mod secrets;
mod selling;
mod shipping;
mod stripe;
mod template;
mod users;
