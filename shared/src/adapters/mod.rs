//! Adapters: DynamoDB (`store`), SQS (`queue`), the payment provider,
//! the carrier, CloudWatch's embedded metrics (`metrics`) and Parameter
//! Store (`secrets`). They turn model values into requests and the answers back
//! into model values, and decide nothing. Name foundation and model only.

pub mod carrier;
pub mod metrics;
pub mod payments;
pub mod queue;
pub mod secrets;
pub mod store;

/// The AWS SDK's retries for the shop's clients: the standard mode
/// (throttling, transient faults, server errors) with five attempts and at
/// most a second between them, well inside a function's deadline.
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(std::time::Duration::from_millis(20))
        .with_max_backoff(std::time::Duration::from_secs(1))
}
