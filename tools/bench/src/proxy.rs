//! A counting proxy between the functions and the emulator: every AWS call
//! passes through, and its operation (`X-Amz-Target`) is noted.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use shared::BoxError;
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Result<Self, BoxError> {
        let upstream: Uri = upstream.parse()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, log) = (client.clone(), upstream.clone(), Arc::clone(&log));
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (client, upstream, log) = (client.clone(), upstream.clone(), Arc::clone(&log));
                        async move { Ok::<_, Infallible>(forward(&client, &upstream, &log, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url, seen })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The operations seen since the last call, e.g. `GetItem`.
    pub fn take(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }
}

async fn forward(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &Uri,
    log: &Mutex<Vec<String>>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    if let Some(target) = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        if let Ok(mut seen) = log.lock() {
            seen.push(operation);
        }
    }
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    parts.uri = match format!(
        "{}://{}{path}",
        upstream.scheme_str().unwrap_or("http"),
        upstream.authority().map(|a| a.as_str()).unwrap_or_default()
    )
    .parse()
    {
        Ok(uri) => uri,
        Err(_) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Full::new(Bytes::new()))
                .unwrap_or_default();
        }
    };
    match client.request(Request::from_parts(parts, Full::new(body))).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            Response::from_parts(parts, Full::new(body))
        }
        Err(_) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
    }
}
