//! A local stand-in for a third-party HTTP API (the payment provider): it
//! records every request and answers from a script.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The form-encoded body as pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// Stripe's rules for an `amount` in a form it is sent (a PaymentIntent's,
/// with its `currency`): ISK in hundredths, so a multiple of 100; the
/// three-decimal currencies in thousandths ending in 0. The reason it
/// would refuse the request, if it would.
fn stripe_amount_refused(seen: &Seen) -> Option<String> {
    if seen.method != "POST" || seen.path != "/v1/payment_intents" {
        return None;
    }
    let form = seen.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (amount, currency) = (field("amount")?, field("currency")?);
    let amount: i64 = match amount.parse() {
        Ok(amount) => amount,
        Err(_) => return Some(format!("amount {amount:?} is not an integer")),
    };
    match currency.as_str() {
        "isk" if amount % 100 != 0 => Some("ISK amounts must be divisible by 100".into()),
        "bhd" | "jod" | "kwd" | "omr" | "tnd" if amount % 10 != 0 => {
            Some(format!("{currency} amounts must end in 0"))
        }
        _ if amount < 1 => Some("amount must be at least 1".into()),
        _ => None,
    }
}

#[derive(Clone)]
pub struct Stub {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl Stub {
    /// Serves on 127.0.0.1 (a free port) until the test ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stub = Self {
            url,
            seen: Arc::default(),
            script: Arc::default(),
        };
        let server = stub.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let stub = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let stub = stub.clone();
                        async move { Ok::<_, Infallible>(stub.answer(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        stub
    }

    /// Queues the next answer (status, JSON body).
    pub fn respond(&self, status: u16, body: serde_json::Value) {
        self.respond_text(status, body.to_string());
    }

    /// Queues the next answer (status, any body).
    pub fn respond_text(&self, status: u16, body: String) {
        self.script.lock().expect("lock").push_back((status, body));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        self.seen.lock().expect("lock").push(Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let seen = self.seen.lock().expect("lock").last().cloned();
        let refused = seen.as_ref().and_then(stripe_amount_refused);
        let (status, body) = match refused {
            // Stripe's own answer to an amount its rules refuse; the script
            // is left as it was.
            Some(message) => (
                400,
                serde_json::json!({"error": {"type": "invalid_request_error", "code": "amount_invalid", "message": message}})
                    .to_string(),
            ),
            None => self
                .script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((500, "{\"error\":{\"message\":\"no scripted answer\"}}".into())),
        };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
        response.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/json"),
        );
        response
    }
}
