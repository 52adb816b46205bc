//! The metering proxy: between the functions and the emulator, it forwards
//! every request and meters each DynamoDB one (see [`crate::meter`]).
//! Writes are metered one at a time: the item is read before and after
//! (straight from the emulator, unmetered), so that its sizes and index
//! entries are exact however many functions write at once.
//!
//! `GET /_meter` answers the usage so far; `POST /_meter/reset` clears it.

use std::convert::Infallible;
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

use crate::meter::{self, Item, Usage};

#[derive(Clone)]
struct Proxy {
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    usage: Arc<Mutex<Usage>>,
    writes: Arc<tokio::sync::Mutex<()>>,
}

/// Serves the proxy on `port` until the process ends.
pub async fn serve(upstream: &str, port: u16) -> Result<(), BoxError> {
    let proxy = Proxy {
        client: Client::builder(TokioExecutor::new()).build_http(),
        upstream: upstream.parse()?,
        usage: Arc::default(),
        writes: Arc::default(),
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("capacity: metering {upstream} on http://127.0.0.1:{port}");
    loop {
        let (stream, _) = listener.accept().await?;
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(proxy.handle(request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

impl Proxy {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        match (parts.method.clone(), parts.uri.path()) {
            (Method::GET, "/_meter") => {
                let usage = self.usage.lock().map(|u| u.clone()).unwrap_or_default();
                return respond(StatusCode::OK, Bytes::from(json!(usage).to_string()));
            }
            (Method::POST, "/_meter/reset") => {
                if let Ok(mut usage) = self.usage.lock() {
                    usage.clear();
                }
                return respond(StatusCode::NO_CONTENT, Bytes::new());
            }
            _ => {}
        }
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
            .map(str::to_owned);
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let writes = matches!(
            operation.as_deref(),
            Some("PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems")
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
                eprintln!("capacity: upstream: {err}");
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
