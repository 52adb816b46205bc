//! Backoff between attempts of a write that lost a race.

use std::time::Duration;

/// How often a write that keeps losing races to other writers is tried.
pub const MAX_ATTEMPTS: u32 = 8;

/// Jittered exponential backoff before retry `attempt`: 5–10 ms, doubling
/// up to 160–320 ms.
pub async fn backoff(attempt: u32) {
    let cap = 10u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(cap / 2..=cap))).await;
}
