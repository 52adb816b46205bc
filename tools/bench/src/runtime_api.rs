//! Just enough of the Lambda Runtime API to drive one function process:
//! `next`, `response`, `error`, `init/error`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use shared::BoxError;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

type Outcome = Result<Bytes, String>;

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<(String, Vec<u8>)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    queued: Notify,
    polled: Notify,
    next_id: Mutex<u64>,
}

pub struct RuntimeApi {
    address: String,
    state: Arc<State>,
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(serve(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { address, state })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Time from `started` until the function first asked for an event.
    pub async fn wait_for_first_poll(&self, started: Instant, limit: Duration) -> Result<Duration, BoxError> {
        let deadline = started + limit;
        loop {
            if let Some(at) = *self.state.first_poll.lock().map_err(|_| "poisoned")? {
                return Ok(at - started);
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err("the function never polled for an event".into());
            }
            let _ = tokio::time::timeout(wait, self.state.polled.notified()).await;
        }
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Vec<u8>) -> Result<Bytes, BoxError> {
        let id = {
            let mut next = self.state.next_id.lock().map_err(|_| "poisoned")?;
            *next += 1;
            format!("bench-{next}")
        };
        let (tx, rx) = oneshot::channel();
        self.state
            .waiting
            .lock()
            .map_err(|_| "poisoned")?
            .insert(id.clone(), tx);
        self.state
            .queue
            .lock()
            .map_err(|_| "poisoned")?
            .push_back((id, event));
        self.state.queued.notify_one();
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(Ok(payload))) => Ok(payload),
            Ok(Ok(Err(error))) => Err(format!("the function failed: {error}").into()),
            _ => Err("no answer within 30 s".into()),
        }
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn serve(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["2018-06-01", "runtime", "invocation", "next"] => {
            if let Ok(mut first) = state.first_poll.lock() {
                first.get_or_insert_with(Instant::now);
            }
            state.polled.notify_waiters();
            loop {
                let next = state.queue.lock().ok().and_then(|mut q| q.pop_front());
                if let Some((id, event)) = next {
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() + 30_000)
                        .unwrap_or_default();
                    let mut response = reply(StatusCode::OK, Bytes::from(event));
                    let headers = response.headers_mut();
                    for (name, value) in [
                        ("lambda-runtime-aws-request-id", id),
                        ("lambda-runtime-deadline-ms", deadline.to_string()),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
                        ),
                        (
                            "lambda-runtime-trace-id",
                            "Root=1-00000000-000000000000000000000000".to_owned(),
                        ),
                    ] {
                        if let Ok(value) = value.parse() {
                            headers.insert(name, value);
                        }
                    }
                    return response;
                }
                state.queued.notified().await;
            }
        }
        [
            "2018-06-01",
            "runtime",
            "invocation",
            id,
            outcome @ ("response" | "error"),
        ] => {
            let waiter = state.waiting.lock().ok().and_then(|mut w| w.remove(*id));
            if let Some(waiter) = waiter {
                let result = if *outcome == "response" {
                    Ok(body)
                } else {
                    Err(String::from_utf8_lossy(&body).into_owned())
                };
                let _ = waiter.send(result);
            }
            reply(StatusCode::ACCEPTED, Bytes::new())
        }
        ["2018-06-01", "runtime", "init", "error"] => {
            eprintln!("bench: init error: {}", String::from_utf8_lossy(&body));
            reply(StatusCode::ACCEPTED, Bytes::new())
        }
        _ => reply(StatusCode::NOT_FOUND, Bytes::new()),
    }
}
