//! `Idempotency-Key` records (API.md "Orders"): a repeat of a request with
//! the same key and body from the same user within 24 hours answers the
//! first response again and creates nothing.
//!
//! The record is claimed before the request runs and holds the id the
//! request will create. If the first attempt dies half way, a retry after
//! the claim's lock has lapsed takes the claim over and runs again with the
//! *same* id, so the resource's own conditional put (`attribute_not_exists`)
//! keeps it from being created twice.

/// Records live this long.
pub const RETENTION_SECS: i64 = 24 * 3600;
/// A claim older than this is taken to belong to a request that died: above
/// any function's timeout.
pub const LOCK_SECS: i64 = 30;

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run the request, creating the resource with this id.
    Run(uuid::Uuid),
    /// The request ran before: answer this.
    Replay(StoredResponse),
}
