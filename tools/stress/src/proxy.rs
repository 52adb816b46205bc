//! The proxy between the functions and the emulator: it forwards every
//! request, injects faults into some (see [`crate::faults`]) and, when
//! metering, meters each DynamoDB one (see [`crate::meter`]). Metered writes
//! go one at a time: the item is read before and after (straight from the
//! emulator, unmetered), so that its sizes and index entries are exact
//! however many functions write at once.
//!
//! `GET /_meter` answers the usage so far; `POST /_meter/reset` clears it.
//! `GET /_faults` answers the faults injected so far; `PUT /_faults` with
//! `{"rate", "seed"}` sets the random share; `POST /_faults/script` with a
//! [`Rule`] adds a scripted fault.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use shared::BoxError;
use tokio::net::TcpListener;

use crate::faults::{self, Fault, Faults, Mode, Rule, Service};
use crate::meter::{self, Item, Usage};

/// What the proxy does besides forwarding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Meter DynamoDB's capacity per partition.
    pub meter: bool,
    /// Inject this random share of faults.
    pub faults: Mode,
}

#[derive(Clone)]
struct Proxy {
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    meter: bool,
    usage: Arc<Mutex<Usage>>,
    writes: Arc<tokio::sync::Mutex<()>>,
    faults: Arc<Faults>,
}

/// A proxy running in this process (tests script its faults directly).
pub struct Running {
    pub url: String,
    pub faults: Arc<Faults>,
}

/// Serves the proxy on `port` until the process ends.
pub async fn serve(upstream: &str, port: u16, options: Options) -> Result<(), BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let proxy = Proxy::new(upstream, options)?;
    eprintln!(
        "stress: proxy for {upstream} on http://127.0.0.1:{port} (metering: {}, faults: {:.0} %)",
        options.meter,
        options.faults.rate * 100.0
    );
    proxy.accept(listener).await
}

/// Starts a proxy on a free port, in the background of this runtime.
pub async fn spawn(upstream: &str, options: Options) -> Result<Running, BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let proxy = Proxy::new(upstream, options)?;
    let faults = proxy.faults.clone();
    tokio::spawn(proxy.accept(listener));
    Ok(Running { url, faults })
}

/// The connection is reset: the caller gets no answer.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
struct Reset;

impl Proxy {
    fn new(upstream: &str, options: Options) -> Result<Self, BoxError> {
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream: upstream.parse()?,
            meter: options.meter,
            usage: Arc::default(),
            writes: Arc::default(),
            faults: Arc::new(Faults::new(options.faults)),
        })
    }

    async fn accept(self, listener: TcpListener) -> Result<(), BoxError> {
        loop {
            let (stream, _) = listener.accept().await?;
            let proxy = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let proxy = proxy.clone();
                    async move { proxy.handle(request).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

fn json_answer(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Bytes::from(body.to_string()),
    );
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

impl Proxy {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Reset> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if let Some(answer) = self.control(&parts.method, parts.uri.path(), &body) {
            return Ok(answer);
        }
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let (service, name) = match target.split_once('.') {
            Some(("DynamoDB_20120810", name)) => (Some(Service::DynamoDb), name),
            Some(("AmazonSQS", name)) => (Some(Service::Sqs), name),
            _ => (None, ""),
        };
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut lose_answer = false;
        if let Some(service) = service
            && let Some((fault, delay)) = self.faults.decide(name, &body)
        {
            let items = request["TransactItems"].as_array().map_or(0, Vec::len);
            match fault {
                Fault::Reset => return Err(Reset),
                Fault::Ambiguous => lose_answer = true,
                Fault::Latency => tokio::time::sleep(delay).await,
                _ => {
                    if let Some((status, answer)) = faults::answer(service, fault, items) {
                        return Ok(json_answer(status, &answer));
                    }
                }
            }
        }
        let operation = (service == Some(Service::DynamoDb) && self.meter).then(|| name.to_owned());
        let answer = self.metered(parts, body, operation, request).await;
        if lose_answer {
            return Err(Reset);
        }
        Ok(answer)
    }

    /// The proxy's own endpoints (`/_meter`, `/_faults`).
    fn control(&self, method: &Method, path: &str, body: &Bytes) -> Option<Response<Full<Bytes>>> {
        let ok = |value: Value| respond(StatusCode::OK, Bytes::from(value.to_string()));
        Some(match (method.clone(), path) {
            (Method::GET, "/_meter") => ok(json!(self.usage.lock().map(|u| u.clone()).unwrap_or_default())),
            (Method::POST, "/_meter/reset") => {
                if let Ok(mut usage) = self.usage.lock() {
                    usage.clear();
                }
                respond(StatusCode::NO_CONTENT, Bytes::new())
            }
            (Method::GET, "/_faults") => ok(json!(self.faults.tally())),
            (Method::PUT, "/_faults") => match serde_json::from_slice::<Mode>(body) {
                Ok(mode) => {
                    self.faults.set_mode(mode);
                    respond(StatusCode::NO_CONTENT, Bytes::new())
                }
                Err(err) => respond(StatusCode::BAD_REQUEST, Bytes::from(err.to_string())),
            },
            (Method::POST, "/_faults/script") => match serde_json::from_slice::<Rule>(body) {
                Ok(rule) => {
                    self.faults.script(rule);
                    respond(StatusCode::NO_CONTENT, Bytes::new())
                }
                Err(err) => respond(StatusCode::BAD_REQUEST, Bytes::from(err.to_string())),
            },
            _ => return None,
        })
    }

    /// Forwards the request; a DynamoDB `operation` is metered.
    async fn metered(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        operation: Option<String>,
        request: Value,
    ) -> Response<Full<Bytes>> {
        let writes = operation.is_some()
            && matches!(
                operation.as_deref(),
                Some("PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem")
            );
        let _one_at_a_time = if writes {
            Some(self.writes.lock().await)
        } else {
            None
        };
        let written = if writes {
            self.write_keys(&request)
        } else {
            Vec::new()
        };
        let mut before = Vec::new();
        for (_, table, key) in &written {
            before.push(self.get(table, key).await);
        }
        let (status, headers, answer) = match self.forward(parts, body).await {
            Ok(parts) => parts,
            Err(err) => {
                eprintln!("stress: upstream: {err}");
                return respond(StatusCode::BAD_GATEWAY, Bytes::new());
            }
        };
        if let Some(operation) = operation {
            let reply: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            let mut after = Vec::new();
            for (_, table, key) in &written {
                after.push(self.get(table, key).await);
            }
            if let Ok(mut usage) = self.usage.lock() {
                if writes {
                    for (((kind, _, key), old), new) in written.iter().zip(&before).zip(&after) {
                        let factor = if operation == "TransactWriteItems" {
                            2.0
                        } else {
                            1.0
                        };
                        match kind {
                            WriteKind::Check => meter::charge_check(&mut usage, key, old.as_ref(), factor),
                            WriteKind::Write => {
                                meter::charge_write(&mut usage, key, old.as_ref(), new.as_ref(), factor)
                            }
                        }
                    }
                } else {
                    charge_reads(&mut usage, &operation, &request, &reply);
                }
            }
        }
        let mut response = respond(status, answer);
        *response.headers_mut() = headers;
        response
    }

    /// The items a write request touches: (kind, table, key).
    fn write_keys(&self, request: &Value) -> Vec<(WriteKind, String, Item)> {
        let table = |v: &Value| v["TableName"].as_str().unwrap_or_default().to_owned();
        let key = |v: &Value| -> Item {
            match v.get("Key").and_then(Value::as_object) {
                Some(key) => key.clone(),
                None => v["Item"].as_object().map(meter::key_of).unwrap_or_default(),
            }
        };
        if let Some(tables) = request.get("RequestItems").and_then(Value::as_object) {
            // BatchWriteItem: each put or delete is a write of its own.
            return tables
                .iter()
                .flat_map(|(name, writes)| {
                    writes.as_array().into_iter().flatten().filter_map(|write| {
                        let key = match (write.get("PutRequest"), write.get("DeleteRequest")) {
                            (Some(put), _) => put["Item"].as_object().map(meter::key_of)?,
                            (_, Some(delete)) => delete["Key"].as_object()?.clone(),
                            _ => return None,
                        };
                        Some((WriteKind::Write, name.clone(), key))
                    })
                })
                .collect();
        }
        match request.get("TransactItems").and_then(Value::as_array) {
            Some(items) => items
                .iter()
                .filter_map(|entry| {
                    let (kind, inner) = entry.as_object()?.iter().next()?;
                    let kind = if kind == "ConditionCheck" {
                        WriteKind::Check
                    } else {
                        WriteKind::Write
                    };
                    Some((kind, table(inner), key(inner)))
                })
                .collect(),
            None => vec![(WriteKind::Write, table(request), key(request))],
        }
    }

    /// An item straight from the emulator, unmetered.
    async fn get(&self, table: &str, key: &Item) -> Option<Item> {
        let body = json!({"TableName": table, "Key": key, "ConsistentRead": true}).to_string();
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.upstream)
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(Full::new(Bytes::from(body)))
            .ok()?;
        let response = self.client.request(request).await.ok()?;
        let bytes = response.into_body().collect().await.ok()?.to_bytes();
        let reply: Value = serde_json::from_slice(&bytes).ok()?;
        reply.get("Item")?.as_object().cloned()
    }

    async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), BoxError> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!(
            "{}://{}{path}",
            self.upstream.scheme_str().unwrap_or("http"),
            self.upstream.authority().map(|a| a.as_str()).unwrap_or_default()
        )
        .parse()?;
        let response = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((parts.status, parts.headers, body))
    }
}

#[derive(Debug, Clone, Copy)]
enum WriteKind {
    Write,
    Check,
}

fn items(value: &Value) -> Vec<Item> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|i| i.as_object().cloned()).collect())
        .unwrap_or_default()
}

fn charge_reads(usage: &mut Usage, operation: &str, request: &Value, reply: &Value) {
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
    match operation {
        "GetItem" => {
            let key = request["Key"].as_object().cloned().unwrap_or_default();
            let size = reply["Item"].as_object().map_or(0, meter::item_size);
            meter::charge_read(usage, meter::table_partition(&key), size, consistent);
        }
        "BatchGetItem" => {
            let Some(tables) = request["RequestItems"].as_object() else {
                return;
            };
            for (table, asked) in tables {
                let consistent = asked["ConsistentRead"].as_bool().unwrap_or(false);
                let found = items(&reply["Responses"][table]);
                for key in items(&asked["Keys"]) {
                    let size = found
                        .iter()
                        .find(|item| meter::key_of(item) == key)
                        .map_or(0, meter::item_size);
                    meter::charge_read(usage, meter::table_partition(&key), size, consistent);
                }
            }
        }
        "Query" => {
            let found = items(&reply["Items"]);
            let index = request["IndexName"].is_string();
            let size: usize = found
                .iter()
                .map(|item| meter::item_size(item) + if index { 100 } else { 0 })
                .sum();
            meter::charge_read(usage, meter::query_partition(request, &found), size, consistent);
        }
        _ => {}
    }
}
