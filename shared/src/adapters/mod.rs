//! Adapters: DynamoDB (`store`), SQS (`queue`), the payment provider and
//! the carrier. They turn model values into requests and the answers back
//! into model values, and decide nothing. Name foundation and model only.

pub mod carrier;
pub mod payments;
pub mod queue;
pub mod store;
