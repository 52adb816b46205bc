//! The model: the shop's entities and their rules as pure functions, with
//! no I/O (no AWS, no network): the order state machine, pricing, refund
//! and restock rules, the return window, who may order and review, and what
//! a provider's event means. Names foundation only.

pub mod accounts;
pub mod addresses;
pub mod auth;
pub mod back_office;
pub mod carts;
pub mod charges;
pub mod coupons;
pub mod emails;
pub mod events;
pub mod fx;
pub mod idempotency;
pub mod markets;
pub mod messages;
pub mod orders;
pub mod payments;
pub mod pricing;
pub mod products;
pub mod promotions;
pub mod quote;
pub mod refunds;
pub mod reports;
pub mod reviews;
pub mod search;
pub mod shipping;
pub mod tax;
pub mod users;
