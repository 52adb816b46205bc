//! Invoking functions through cargo-lambda's emulation of the Lambda
//! `Invoke` API.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cannot reach the Lambda emulator: {0}")]
    Unreachable(String),
    #[error("function {function} failed: {detail}")]
    Failed { function: String, detail: String },
}

#[derive(Clone)]
pub struct Invoker {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Invoker {
    /// `base` is the invoke endpoint, e.g. `http://127.0.0.1:9000`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
        }
    }

    /// Invokes `function` with `payload` and returns its result payload.
    pub async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Bytes, InvokeError> {
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
