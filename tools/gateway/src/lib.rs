//! The local gateway: what API Gateway, SQS and DynamoDB Streams event
//! source mappings and EventBridge schedules do for the deployed shop, done on loopback for the
//! functions running under `cargo lambda watch`. Everything it serves comes
//! from `template.yaml`.

pub mod ecb;
pub mod lambda;
pub mod queues;
pub mod routes;
pub mod schedules;
pub mod streams;
pub mod template;
