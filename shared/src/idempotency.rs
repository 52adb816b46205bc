//! `Idempotency-Key` (API.md "Orders"): a repeat of a request with the same
//! key and body from the same user within 24 hours answers the first
//! response again and creates nothing.
//!
//! The record is claimed before the request runs and holds the id the
//! request will create. If the first attempt dies half way, a retry after
//! the claim's lock has lapsed takes the claim over and runs again with the
//! *same* id, so the resource's own conditional put (`attribute_not_exists`)
//! keeps it from being created twice.

use std::future::Future;

use lambda_http::Body;
use lambda_http::http::{HeaderValue, StatusCode, header};

use crate::App;
use crate::auth::Principal;
use crate::clock::Timestamp;
use crate::http::{Answer, Request, Response, respond};

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

impl StoredResponse {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::Text(self.body));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        if let Some(value) = self.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    }

    fn of(response: &Response) -> Self {
        Self {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
        }
    }
}

/// Runs `create` at most once per `Idempotency-Key` of `caller`; without the
/// header it simply runs with a fresh id. The id handed to `create` is the one
/// the created resource must take.
pub async fn once<F, Fut>(app: &App, caller: &Principal, request: &Request, create: F) -> Answer
where
    F: FnOnce(uuid::Uuid) -> Fut,
    Fut: Future<Output = Answer>,
{
    let Some(key) = request.idempotency_key()? else {
        return create(uuid::Uuid::now_v7()).await;
    };
    let fingerprint = request.fingerprint();
    let now = Timestamp::now();
    let id = match app
        .store
        .claim_idempotency_key(&caller.user_id, &key, &fingerprint, now)
        .await?
    {
        Claim::Replay(stored) => return Ok(stored.into_response()),
        Claim::Run(id) => id,
    };
    let response = respond(create(id).await);
    // Server errors are not recorded: the claim lapses and a retry runs again
    // with the same id. Everything else is the answer from now on.
    if !response.status().is_server_error()
        && let Err(err) = app
            .store
            .complete_idempotency_key(&caller.user_id, &key, &StoredResponse::of(&response))
            .await
    {
        tracing::warn!(error = %err, "could not record an idempotent response; a retry will rerun it");
    }
    Ok(response)
}
