//! `Idempotency-Key` around an HTTP use case: claim, run once, record the
//! answer, replay it (the rules in `model::idempotency`).

use std::future::Future;

use lambda_http::Body;
use lambda_http::http::{HeaderValue, StatusCode, header};

use crate::app::App;
use crate::entry::http::{Answer, Request, Response, respond};
use crate::foundation::clock::Timestamp;
use crate::model::auth::Principal;
use crate::model::idempotency::{Attempt, Claim, Mark, StoredResponse};

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

/// Runs `run` at most once per `Idempotency-Key` of `caller`; without the
/// header it simply runs, fresh. The [`Attempt`] handed to `run` carries the
/// id a created resource must take, whether an earlier attempt may have done
/// the work, and the record a non-idempotent write marks.
pub async fn once<F, Fut>(app: &App, caller: &Principal, request: &Request, run: F) -> Answer
where
    F: FnOnce(Attempt) -> Fut,
    Fut: Future<Output = Answer>,
{
    let Some(key) = request.idempotency_key()? else {
        return run(Attempt::fresh()).await;
    };
    let fingerprint = request.fingerprint();
    let now = Timestamp::now();
    let (id, retried) = match app
        .store
        .claim_idempotency_key(&caller.user_id, &key, &fingerprint, now)
        .await?
    {
        Claim::Replay(record) => return Ok(replay(record)),
        Claim::Run(id) => (id, false),
        Claim::Retry(id) => (id, true),
    };
    let mark = Mark {
        user: caller.user_id.clone(),
        key: key.clone(),
    };
    let response = respond(
        run(Attempt {
            id,
            retried,
            mark: Some(mark),
        })
        .await,
    );
    // Server errors are not recorded: the claim is released and a retry
    // runs again with the same id. Everything else is the answer from now on.
    let recorded = if response.status().is_server_error() {
        app.store.release_idempotency_key(&caller.user_id, &key).await
    } else {
        app.store
            .complete_idempotency_key(&caller.user_id, &key, &stored(&response))
            .await
    };
    if let Err(err) = recorded {
        tracing::warn!(error = %err, "could not record an idempotent response; a retry will rerun it");
    }
    Ok(response)
}
