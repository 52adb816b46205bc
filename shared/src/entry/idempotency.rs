//! `Idempotency-Key` around an HTTP use case: claim, run once, record the
//! answer, replay it (the rules in `model::idempotency`).

use std::future::Future;

use lambda_http::Body;
use lambda_http::http::{HeaderValue, StatusCode, header};

use crate::app::App;
use crate::entry::http::{Answer, Request, Response, respond};
use crate::foundation::clock::Timestamp;
use crate::model::auth::Principal;
use crate::model::idempotency::{Claim, StoredResponse};

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::Text(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    if let Some(value) = stored.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn stored(response: &Response) -> StoredResponse {
    StoredResponse {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
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
        Claim::Replay(record) => return Ok(replay(record)),
        Claim::Run(id) => id,
    };
    let response = respond(create(id).await);
    // Server errors are not recorded: the claim lapses and a retry runs again
    // with the same id. Everything else is the answer from now on.
    if !response.status().is_server_error()
        && let Err(err) = app
            .store
            .complete_idempotency_key(&caller.user_id, &key, &stored(&response))
            .await
    {
        tracing::warn!(error = %err, "could not record an idempotent response; a retry will rerun it");
    }
    Ok(response)
}
