//! `gateway`: serves the shop's HttpApi routes on 127.0.0.1, invoking the
//! functions that `cargo lambda watch` runs.
//!
//! It also delivers each queue to its worker in SQS event batches, fires
//! each scheduled function every `SCHEDULE_INTERVAL_SECONDS` (a daily one
//! at start and then hourly, so a new stack has the day's exchange rates),
//! and stands in for the ECB's rates file (`ecb`).
//!
//! Settings: `API_PORT` (3000), `LAMBDA_INVOKE_PORT` (9000), `TEMPLATE`
//! (`template.yaml`), `SCHEDULE_INTERVAL_SECONDS` (60), `LAMBDA_CONCURRENCY`
//! (4: invocations in flight per function, as `cargo lambda watch` runs
//! instances; past it a request waits up to 3 s, then is answered `429`
//! with `Retry-After`, as API Gateway does when Lambda throttles).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gateway::lambda::{InvokeError, Invoker, QUEUE_WAIT};
use gateway::routes::{self, Router};
use gateway::template::Template;
use gateway::{ecb, queues, schedules};
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// API Gateway's own payload limit; the functions enforce the shop's smaller one.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

struct Gateway {
    router: Router,
    invoker: Invoker,
    host: String,
    requests: AtomicU64,
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let port: u16 = setting("API_PORT", "3000").parse()?;
    let invoke_port: u16 = setting("LAMBDA_INVOKE_PORT", "9000").parse()?;
    let template_path = PathBuf::from(setting("TEMPLATE", "template.yaml"));
    let template = Template::load(&template_path)?;

    let router = Router::new(&template.functions);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let gateway = Arc::new(Gateway {
        router,
        invoker: Invoker::new(
            format!("http://127.0.0.1:{invoke_port}"),
            setting("LAMBDA_CONCURRENCY", "4").parse()?,
            // API Gateway's integration timeout.
            Duration::from_secs(30),
        )
        .with_crashes(
            setting("GATEWAY_CRASH_RATE", "0").parse()?,
            setting("GATEWAY_CRASH_SEED", "0").parse()?,
        ),
        host: addr.to_string(),
        requests: AtomicU64::new(0),
    });
    let interval: u64 = setting("SCHEDULE_INTERVAL_SECONDS", "60").parse()?;
    for (binary, expression) in schedules::scheduled(&template.functions) {
        if schedules::is_slow(&expression) {
            eprintln!("gateway: {binary} ({expression}) fires at start, then hourly, locally");
        } else {
            eprintln!("gateway: {binary} ({expression}) fires every {interval} s locally");
        }
        let invoker = gateway.invoker.clone();
        let slow = schedules::is_slow(&expression);
        let every = if slow {
            schedules::SLOW_INTERVAL
        } else {
            Duration::from_secs(interval.max(1))
        };
        tokio::spawn(schedules::run(invoker, binary, every, slow));
    }
    let sources = queues::sources(&template.functions);
    if !sources.is_empty() {
        let aws = shared::adapters::aws_config().expect("an HTTPS client");
        let sqs = aws_sdk_sqs::Client::new(&aws);
        for source in sources {
            let Some(url) = queues::queue_url(&source.queue) else {
                eprintln!(
                    "gateway: no URL for {} (is its *_QUEUE_URL set?); {} gets no messages",
                    source.queue, source.binary
                );
                continue;
            };
            eprintln!(
                "gateway: {} delivers to {} in batches of {}",
                source.queue, source.binary, source.batch_size
            );
            tokio::spawn(queues::run(sqs.clone(), gateway.invoker.clone(), source, url));
        }
    }
    for function in &template.functions {
        for event in &function.events {
            let gateway::template::Event::Stream { batch_size } = event else {
                continue;
            };
            let aws = shared::adapters::aws_config().expect("an HTTPS client");
            let table = shared::adapters::store::Store::new(
                shared::adapters::store::Store::client_for(&aws),
                setting("TABLE_NAME", "shop"),
            );
            match gateway::streams::StreamReader::for_table(&aws, &table).await {
                Ok(reader) => {
                    eprintln!(
                        "gateway: the table's stream delivers to {} in batches of {batch_size}",
                        function.binary
                    );
                    tokio::spawn(gateway::streams::run(
                        gateway.invoker.clone(),
                        function.binary.clone(),
                        reader,
                        usize::try_from(*batch_size).unwrap_or(100),
                    ));
                }
                Err(err) => eprintln!("gateway: {}: no stream to read ({err})", function.binary),
            }
        }
    }
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "gateway: {} routes from {} on http://{addr}",
        gateway.router.routes().len(),
        template_path.display()
    );

    loop {
        let (stream, _) = listener.accept().await?;
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(gateway.handle(request).await) }
            });
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("gateway: connection error: {err}");
            }
        });
    }
}

impl Gateway {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        if parts.method == http::Method::GET && parts.uri.path() == ecb::PATH {
            return Response::builder()
                .header(header::CONTENT_TYPE, "text/xml")
                .body(Full::new(Bytes::from(ecb::daily_file(&ecb::today()))))
                .unwrap_or_default();
        }
        let Some((route, params)) = self.router.find(&parts.method, parts.uri.path()) else {
            return routes::problem(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "No route matches this method and path.",
            );
        };
        let body = match Limited::new(body, MAX_PAYLOAD).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return routes::problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "The body is larger than the gateway accepts.",
                );
            }
        };
        let id = self.requests.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("local-{}-{id}", std::process::id());
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(&self.host)
            .to_owned();
        let event = routes::to_event(route, params, &parts, &body, &host, &request_id);
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(err) => {
                return routes::problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &err.to_string());
            }
        };
        let started = std::time::Instant::now();
        let result = self
            .invoker
            .invoke(&route.binary, payload, Some(QUEUE_WAIT))
            .await;
        let response = match result.map(|bytes| serde_json::from_slice(&bytes)) {
            Ok(Ok(response)) => routes::from_response(response),
            Ok(Err(err)) => {
                eprintln!(
                    "gateway: {} answered something that is not a payload v2 response: {err}",
                    route.binary
                );
                routes::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "An unexpected error occurred.",
                )
            }
            Err(err @ InvokeError::Throttled(_)) => {
                eprintln!("gateway: {err}");
                routes::retry_later(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    "Too many requests; retry shortly.",
                )
            }
            Err(err @ (InvokeError::Unreachable(_) | InvokeError::TimedOut(_))) => {
                eprintln!("gateway: {err}");
                routes::retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "The function could not answer; retry shortly.",
                )
            }
            // As API Gateway answers when its Lambda integration fails.
            Err(err @ InvokeError::Crashed(_)) => {
                eprintln!("gateway: {err}");
                routes::problem(
                    StatusCode::BAD_GATEWAY,
                    "BAD_GATEWAY",
                    "The function failed before answering; retry shortly.",
                )
            }
            Err(err @ InvokeError::Failed { .. }) => {
                eprintln!("gateway: {err}");
                routes::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "An unexpected error occurred.",
                )
            }
        };
        eprintln!(
            "gateway: {} {} -> {} {} ({} ms)",
            parts.method,
            parts.uri.path(),
            route.binary,
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
        response
    }
}
