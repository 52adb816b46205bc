//! Use cases: each reads, asks the model, writes conditionally through the
//! store and hands off to a queue. One per endpoint or message; they take
//! the [`App`](crate::app::App) and name every layer below.

pub mod back_office;
pub mod carts;
pub mod fx;
pub mod indexer;
pub mod markets;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod pricing;
pub mod products;
pub mod promotions;
pub mod reconcile;
pub mod refunds;
pub mod reports;
pub mod reviews;
pub mod search;
pub mod shipping;
pub mod tax;
pub mod users;
