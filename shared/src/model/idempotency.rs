//! `Idempotency-Key` records (the contract's "Orders"): a repeat of a request with
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
    /// An earlier attempt of this request died without an answer (or
    /// answered a server error): run it again with the same id, knowing
    /// that the earlier attempt may have done its work.
    Retry(uuid::Uuid),
    /// The request ran before: answer this.
    Replay(StoredResponse),
}

/// One run of a request under an `Idempotency-Key`, as a use case sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The id the resource the request creates must take.
    pub id: uuid::Uuid,
    /// An earlier attempt of the same request may have done its work: a
    /// use case whose target state is reached already answers success.
    pub retried: bool,
    /// The key's record, when the request came with one: a write that is
    /// not idempotent by itself (adding stock) marks the record in its own
    /// transaction, so that it applies once per key.
    pub mark: Option<Mark>,
}

impl Attempt {
    /// A request without a key: a fresh id, no earlier attempt.
    pub fn fresh() -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            retried: false,
            mark: None,
        }
    }
}

/// Which idempotency record a write marks as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub user: crate::foundation::ids::UserId,
    pub key: String,
}
