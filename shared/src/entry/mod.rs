//! Entry points' runners: HTTP (API Gateway), SQS batches and schedules,
//! `Idempotency-Key`, the admin console's files, and the Lambda runtime around them. Each function's
//! `main.rs` hands one handler to one of these.

pub mod console;
pub mod http;
pub mod idempotency;
pub mod runtime;
pub mod worker;
