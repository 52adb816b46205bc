//! Test support: an isolated table and queues per integration test, and an
//! HTTP client for the end-to-end tests that drive the local gateway.
//!
//! Both need the local stack that `make test` starts: integration tests read
//! `AWS_ENDPOINT_URL` (the emulator), end-to-end tests `SHOP_API_URL` (the
//! gateway). Run through `make test`; a test run without them fails loudly.
//!
//! Helpers by role: [`app`] (the app on the emulator), [`http`] (the API
//! client and a journey's cast), [`fixtures`] (one per concept: principals,
//! an address, a product, a placed, paid or delivered order, an order's
//! status), [`signer`] (Stripe's and AWS's signatures), [`stub`] (a
//! third party's HTTP API).

pub mod app;
pub mod fixtures;
pub mod http;
pub mod outbox;
pub mod signer;
pub mod stub;

pub use app::{
    TEST_ACCOUNT_TOKEN_SECRET, TEST_CARRIER_SECRET, TEST_CURSOR_SECRET, TEST_JWT_SECRET, TEST_WEBHOOK_SECRET,
    TestApp, emulator_config,
};
pub use http::{Api, Customer, Reply, Shop};
pub use outbox::Outbox;
pub use signer::{sigv4, stripe_signature, stripe_signature_at};
pub use {reqwest, serde_json};

/// A setting the test run must have.
pub fn require_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("{name} is not set: run the tests through `make test`, which starts the local stack")
        })
}

/// A name no other test uses (lower-case letters, digits and `-`, so it
/// also serves as a category).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// How many rounds each concurrency race runs; every round must be exact.
/// `RACE_ROUNDS` raises it for a deeper run (`RACE_ROUNDS=20 make test`).
pub fn race_rounds() -> usize {
    std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5)
}
