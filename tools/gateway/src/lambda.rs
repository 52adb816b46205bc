//! Invoking functions through cargo-lambda's emulation of the Lambda
//! `Invoke` API, at most `concurrency` at a time per function, as Lambda's
//! concurrency limit does: past it a request waits briefly, then is
//! throttled, and an invocation that takes too long is given up on, so the
//! gateway never piles work onto the emulator or hangs on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cannot reach the Lambda emulator: {0}")]
    Unreachable(String),
    #[error("function {0} is at its concurrency limit")]
    Throttled(String),
    #[error("function {0} did not answer in time")]
    TimedOut(String),
    #[error("function {function} failed: {detail}")]
    Failed { function: String, detail: String },
    /// Fault injection: the instance died before its answer left it.
    #[error("function {0} crashed (injected)")]
    Crashed(String),
}

/// Injected crashes: a seeded share of invocations whose instance dies
/// after its work and before its answer, so the caller sees an error for
/// work that was done (`GATEWAY_CRASH_RATE`, `GATEWAY_CRASH_SEED`).
#[derive(Debug)]
struct Crashes {
    rate: f64,
    rng: Mutex<fastrand::Rng>,
}

#[derive(Clone)]
pub struct Invoker {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    concurrency: usize,
    limits: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    timeout: Duration,
    crashes: Arc<Crashes>,
}

/// How long a request waits for a free instance before it is throttled.
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);

impl Invoker {
    /// `base` is the invoke endpoint, e.g. `http://127.0.0.1:9000`;
    /// `concurrency` the instances per function (`cargo lambda watch
    /// --concurrency`); `timeout` how long one invocation may take.
    pub fn new(base: impl Into<String>, concurrency: usize, timeout: Duration) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
            concurrency: concurrency.max(1),
            limits: Arc::default(),
            timeout,
            crashes: Arc::new(Crashes {
                rate: 0.0,
                rng: Mutex::new(fastrand::Rng::new()),
            }),
        }
    }

    /// Crashes a `rate` share of invocations after their work (fault
    /// injection for `make chaos`), in a sequence fixed by `seed`.
    pub fn with_crashes(mut self, rate: f64, seed: u64) -> Self {
        self.crashes = Arc::new(Crashes {
            rate,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        });
        self
    }

    fn crashes_now(&self) -> bool {
        self.crashes.rate > 0.0
            && self
                .crashes
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .f64()
                < self.crashes.rate
    }

    fn limit(&self, function: &str) -> Arc<Semaphore> {
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            limits
                .entry(function.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.concurrency))),
        )
    }

    /// Invokes `function` with `payload` once an instance is free, waiting
    /// at most `wait` for one (`None`: as long as it takes, for queue
    /// deliveries and schedules), and returns its result payload.
    pub async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        wait: Option<Duration>,
    ) -> Result<Bytes, InvokeError> {
        let limit = self.limit(function);
        let permit = match wait {
            Some(wait) => tokio::time::timeout(wait, limit.acquire_owned())
                .await
                .map_err(|_| InvokeError::Throttled(function.to_owned()))?,
            None => limit.acquire_owned().await,
        }
        .map_err(|_| InvokeError::Throttled(function.to_owned()))?;
        let answer = tokio::time::timeout(self.timeout, self.call(function, payload))
            .await
            .map_err(|_| InvokeError::TimedOut(function.to_owned()))?;
        drop(permit);
        if self.crashes_now() {
            return Err(InvokeError::Crashed(function.to_owned()));
        }
        answer
    }

    async fn call(&self, function: &str, payload: Vec<u8>) -> Result<Bytes, InvokeError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "{}/2015-03-31/functions/{function}/invocations",
                self.base
            ))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|err| InvokeError::Unreachable(err.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|err| InvokeError::Unreachable(err.to_string()))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| InvokeError::Unreachable(err.to_string()))?
            .to_bytes();
        if status != StatusCode::OK || function_error {
            return Err(InvokeError::Failed {
                function: function.to_owned(),
                detail: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(body)
    }
}
