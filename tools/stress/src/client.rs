//! The shop's API as a good client uses it: a request that meets `429`,
//! `502`, `503`, `504`, a timeout or a dropped connection is sent again
//! (after its `Retry-After`), with the same `Idempotency-Key` if it had one;
//! `409 IDEMPOTENCY_IN_PROGRESS` waits for the first attempt. Every answer
//! is tallied, so that a run can report what clients saw.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// What clients saw: answers by status, and the server errors by route.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub statuses: BTreeMap<u16, u64>,
    /// `500`s (and other unexpected `5xx`), by `METHOD /path`.
    pub server_errors: BTreeMap<String, u64>,
    /// `503`s without `Retry-After`.
    pub unavailable_without_retry_after: u64,
    /// Requests sent (each retry counted once more).
    pub attempts: u64,
    /// Requests that still failed after every retry.
    pub gave_up: u64,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api: String,
    seen: Arc<Mutex<Seen>>,
    attempts: usize,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

/// Routes are reported without their ids.
fn route(method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let shape: Vec<&str> = path
        .split('/')
        .map(|part| {
            if part.len() >= 32 && part.contains('-') {
                "{id}"
            } else {
                part
            }
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

impl Client {
    /// `attempts`: how often one request is sent at most.
    pub fn new(api: impl Into<String>, attempts: usize) -> Self {
        Self {
            http: shared::adapters::http_client()
                .timeout(Duration::from_secs(40))
                .build()
                .unwrap_or_default(),
            api: api.into(),
            seen: Arc::default(),
            attempts,
        }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn note(&self, change: impl FnOnce(&mut Seen)) {
        if let Ok(mut seen) = self.seen.lock() {
            change(&mut seen);
        }
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call(method, path, token, body, None, &[]).await
    }

    /// A request, retried as a good client does; `key` is its
    /// `Idempotency-Key`, `headers` anything else it carries.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        key: Option<&str>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut last = None;
        for attempt in 0..self.attempts {
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.api));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            request = match &body {
                Some(Value::String(raw)) => request
                    .header("content-type", "application/json")
                    .body(raw.clone()),
                Some(body) => request.json(body),
                None => request,
            };
            self.note(|s| s.attempts += 1);
            let pause = Duration::from_millis(200 * (attempt as u64 + 1).min(5) + fastrand::u64(0..300));
            let response = match request.send().await {
                Ok(response) => response,
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body = response.json().await.unwrap_or(Value::Null);
            let reply = Reply { status, body };
            self.note(|s| *s.statuses.entry(status.as_u16()).or_default() += 1);
            let retry = match status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => true,
                StatusCode::SERVICE_UNAVAILABLE => {
                    if retry_after.is_none() {
                        self.note(|s| s.unavailable_without_retry_after += 1);
                    }
                    true
                }
                StatusCode::CONFLICT => reply.code() == "IDEMPOTENCY_IN_PROGRESS",
                status if status.is_server_error() => {
                    let route = route(&method, path);
                    self.note(|s| *s.server_errors.entry(route).or_default() += 1);
                    true
                }
                _ => false,
            };
            if !retry {
                return reply;
            }
            let wait = retry_after.map_or(pause, |secs| {
                Duration::from_secs(secs).min(Duration::from_secs(2))
                    + Duration::from_millis(fastrand::u64(0..300))
            });
            tokio::time::sleep(wait).await;
            last = Some(reply);
        }
        self.note(|s| s.gave_up += 1);
        last.unwrap_or(Reply {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: Value::Null,
        })
    }

    /// Logs in; the access token.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, shared::BoxError> {
        let session = self
            .expect(
                Method::POST,
                "/auth/login",
                None,
                Some(serde_json::json!({"email": email, "password": password})),
            )
            .await?;
        Ok(session["access_token"].as_str().ok_or("no token")?.to_owned())
    }

    /// Verifies `email`'s account with the link the shop emailed it: the
    /// token read from the emulator's list of sent emails
    /// (`<AWS_ENDPOINT_URL>/_ministack/ses/messages`), waiting up to 60 s
    /// for the notifier, then `POST /auth/verify`.
    pub async fn verify(&self, email: &str) -> Result<(), shared::BoxError> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set")?;
        let started = std::time::Instant::now();
        loop {
            let listed: Value = self
                .http
                .get(format!(
                    "{}/_ministack/ses/messages",
                    endpoint.trim_end_matches('/')
                ))
                .send()
                .await?
                .json()
                .await?;
            let token = listed["messages"]
                .as_object()
                .into_iter()
                .flat_map(|accounts| accounts.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter(|m| m["Subject"] == "Confirm your email address")
                .filter(|m| m["To"].as_array().is_some_and(|to| to.iter().any(|t| t == email)))
                .find_map(|m| {
                    let text = m["BodyText"].as_str()?;
                    let start = text.find("?token=")? + "?token=".len();
                    text.get(start..start + 43).map(str::to_owned)
                });
            if let Some(token) = token {
                let verified = self
                    .send(
                        Method::POST,
                        "/auth/verify",
                        None,
                        Some(serde_json::json!({"token": token})),
                    )
                    .await;
                // A retry after a crash finds the token used: verified.
                if verified.status.is_success() || verified.code() == "INVALID_TOKEN" {
                    return Ok(());
                }
                return Err(format!("verify {email}: {} {}", verified.status, verified.body).into());
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                return Err(format!("no verification email to {email} within 60 s").into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// A request that must succeed.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, shared::BoxError> {
        let reply = self.send(method.clone(), path, token, body).await;
        if !reply.status.is_success() {
            return Err(format!("{method} {path}: {} {}", reply.status, reply.body).into());
        }
        Ok(reply.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_reported_without_ids() {
        assert_eq!(
            route(
                &Method::POST,
                "/orders/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/cancel"
            ),
            "POST /orders/{id}/cancel"
        );
        assert_eq!(route(&Method::GET, "/products?limit=5"), "GET /products");
    }
}
