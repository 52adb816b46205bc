//! `bench`: runs release-built function binaries the way Lambda does, against
//! the local emulator, and reports per function:
//!
//! - **init**: process start until the runtime asks for its first event
//!   (cold start: config, AWS clients, TLS roots);
//! - **first**: the first invocation (cold connections);
//! - **warm p50 / p95** over `--iterations` invocations;
//! - **peak RSS** of the process (`VmHWM`);
//! - **DynamoDB requests per warm invocation**, counted by a proxy between
//!   the function and the emulator, by operation.
//!
//! It serves a minimal Lambda Runtime API itself, one per function. Timings
//! are figures to report, never asserted: they depend on the machine.

mod proxy;
mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use gateway::routes::{Router, to_event};
use gateway::template::Template;
use serde_json::json;
use shared::foundation::clock::Timestamp;
use shared::foundation::input::parse_document;
use shared::model::auth::{self, Role};
use shared::usecases::{products, users};
use shared::{App, BoxError};

#[derive(Parser)]
#[command(about = "Benchmark release-built functions against the local emulator")]
struct Cli {
    /// Warm invocations per function.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Cold starts per function; the median init is reported.
    #[arg(long, default_value_t = 15)]
    cold_starts: usize,
    /// The functions to measure (the reference, `bench-hello`, always comes first).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "products-get,products-list,users-get-me,orders-create,auth-login"
    )]
    functions: Vec<String>,
}

struct Case {
    function: String,
    method: &'static str,
    path: String,
    body: Option<serde_json::Value>,
    token: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let app = App::build((
        shared::app::parts::Secrets,
        shared::app::parts::Queues,
        shared::app::parts::Provider,
    ))
    .await?;
    let cases = fixtures(&app).await?;
    let router = Router::new(&Template::load(&PathBuf::from("template.yaml"))?.functions);
    let upstream = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set")?;
    let proxy = proxy::Proxy::start(&upstream).await?;

    println!(
        "| function | binary | zipped | init (median of {}) | files opened in init | first | warm p50 | warm p95 | peak RSS | DynamoDB requests per warm invocation |",
        cli.cold_starts
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut reference: Option<Figures> = None;
    let wanted = cases
        .into_iter()
        .filter(|c| c.function == REFERENCE || cli.functions.contains(&c.function));
    for case in wanted {
        let binary = cli.bin_dir.join(&case.function);
        let size = std::fs::metadata(&binary)
            .map_err(|err| format!("{}: {err}", binary.display()))?
            .len();
        let zipped = zipped_size(&binary);
        let files = files_opened_in_init(&binary, &proxy).await;
        let env = |api: &runtime_api::RuntimeApi| {
            let mut command = tokio::process::Command::new(&binary);
            command
                .env("AWS_LAMBDA_RUNTIME_API", api.address())
                .env("AWS_LAMBDA_FUNCTION_NAME", &case.function)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_ENDPOINT_URL", proxy.url())
                .env("RUST_LOG", "warn")
                // Its logs (and metric lines) are not the bench's table.
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true);
            command
        };
        // Cold starts: each a new process, until it first polls for an
        // event; the last one goes on to the invocations.
        let mut inits = Vec::with_capacity(cli.cold_starts);
        let (api, mut child) = loop {
            let api = runtime_api::RuntimeApi::start().await?;
            let started = Instant::now();
            let mut child = env(&api).spawn()?;
            inits.push(api.wait_for_first_poll(started, Duration::from_secs(30)).await?);
            if inits.len() == cli.cold_starts.max(1) {
                break (api, child);
            }
            let _ = child.kill().await;
        };
        inits.sort();
        let init = inits[inits.len() / 2];
        let pid = child.id().unwrap_or_default();

        let event = |n: usize| -> Result<Vec<u8>, BoxError> {
            let mut request = http::Request::builder()
                .method(case.method)
                .uri(&case.path)
                .header("host", "bench.local");
            if let Some(token) = &case.token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let body = case.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
            if case.body.is_some() {
                request = request.header("content-type", "application/json");
            }
            let (parts, ()) = request.body(())?.into_parts();
            let (route, params) = router
                .find(&parts.method, parts.uri.path())
                .ok_or_else(|| format!("no route for {} {}", case.method, case.path))?;
            let event = to_event(
                route,
                params,
                &parts,
                &bytes::Bytes::from(body),
                "bench.local",
                &format!("bench-{n}"),
            );
            Ok(serde_json::to_vec(&event)?)
        };

        let first_started = Instant::now();
        check(&case, api.invoke(event(0)?).await?)?;
        let first = first_started.elapsed();

        let mut warm = Vec::with_capacity(cli.iterations);
        let mut calls: BTreeMap<String, usize> = BTreeMap::new();
        for n in 1..=cli.iterations {
            proxy.take();
            let t = Instant::now();
            check(&case, api.invoke(event(n)?).await?)?;
            warm.push(t.elapsed());
            for target in proxy.take() {
                *calls.entry(target).or_default() += 1;
            }
        }
        let rss = peak_rss_kib(pid);
        let _ = child.kill().await;

        warm.sort();
        let pct = |p: f64| warm[((warm.len() as f64 * p) as usize).min(warm.len() - 1)];
        let per_call: Vec<String> = calls
            .iter()
            .map(|(op, count)| format!("{} {op}", fmt_ratio(*count, cli.iterations)))
            .collect();
        let figures = Figures {
            size: size as f64,
            zipped: zipped.map(|z| z as f64),
            init: init.as_secs_f64(),
            rss: rss.map(|kib| kib as f64),
        };
        let base = reference.as_ref();
        let times = |value: f64, of: Option<f64>| match of {
            Some(of) if of > 0.0 && base.is_some() => format!(" ({:.1}×)", value / of),
            _ => String::new(),
        };
        println!(
            "| {} | {:.1} MB{} | {}{} | {}{} | {} | {} | {} | {} | {}{} | {} |",
            case.function,
            figures.size / 1_048_576.0,
            times(figures.size, base.map(|b| b.size)),
            figures
                .zipped
                .map_or("?".into(), |z| format!("{:.1} MB", z / 1_048_576.0)),
            figures
                .zipped
                .map_or(String::new(), |z| times(z, base.and_then(|b| b.zipped))),
            ms(init),
            times(figures.init, base.map(|b| b.init)),
            files.map_or("?".into(), |n| n.to_string()),
            ms(first),
            ms(pct(0.50)),
            ms(pct(0.95)),
            rss.map_or("?".into(), |kib| format!("{:.1} MB", kib as f64 / 1024.0)),
            figures
                .rss
                .map_or(String::new(), |r| times(r, base.and_then(|b| b.rss))),
            if per_call.is_empty() {
                "0".into()
            } else {
                per_call.join(", ")
            }
        );
        if case.function == REFERENCE {
            reference = Some(figures);
        }
    }
    Ok(())
}

/// The floor every function is measured against (`tools/bench-hello`).
const REFERENCE: &str = "bench-hello";

/// What a function is compared on with the reference.
struct Figures {
    size: f64,
    zipped: Option<f64>,
    init: f64,
    rss: Option<f64>,
}

/// The size of the binary zipped as Lambda receives it (`bootstrap` in a
/// zip, deflated at the highest level), if `zip` is there.
fn zipped_size(binary: &std::path::Path) -> Option<u64> {
    let dir = std::env::temp_dir().join(format!("bench-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::copy(binary, dir.join("bootstrap")).ok()?;
    let _ = std::fs::remove_file(dir.join("function.zip"));
    let zipped = std::process::Command::new("zip")
        .args(["-q", "-9", "-X", "function.zip", "bootstrap"])
        .current_dir(&dir)
        .status()
        .ok()?
        .success();
    let size = zipped
        .then(|| std::fs::metadata(dir.join("function.zip")).ok().map(|m| m.len()))
        .flatten();
    let _ = std::fs::remove_dir_all(&dir);
    size
}

/// Files the binary opens from its start until it first polls for an event
/// (an extra cold start under `strace`), if `strace` is there.
async fn files_opened_in_init(binary: &std::path::Path, proxy: &proxy::Proxy) -> Option<usize> {
    let api = runtime_api::RuntimeApi::start().await.ok()?;
    let trace = std::env::temp_dir().join(format!("bench-strace-{}", std::process::id()));
    let mut child = tokio::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&trace)
        .arg(binary)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_ENDPOINT_URL", proxy.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let polled = api
        .wait_for_first_poll(Instant::now(), Duration::from_secs(30))
        .await;
    let _ = child.kill().await;
    let _ = child.wait().await;
    polled.ok()?;
    let text = std::fs::read_to_string(&trace).ok()?;
    let _ = std::fs::remove_file(&trace);
    Some(text.lines().filter(|line| line.contains("open")).count())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn fmt_ratio(count: usize, of: usize) -> String {
    let ratio = count as f64 / of as f64;
    if (ratio - ratio.round()).abs() < 0.01 {
        format!("{}", ratio.round())
    } else {
        format!("{ratio:.2}")
    }
}

/// The response must be a success, or the figures mean nothing.
fn check(case: &Case, payload: bytes::Bytes) -> Result<(), BoxError> {
    let response: serde_json::Value = serde_json::from_slice(&payload)?;
    match response["statusCode"].as_u64() {
        Some(200..=299) => Ok(()),
        other => Err(format!("{} answered {other:?}: {}", case.function, response["body"]).into()),
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A user, a token and a product in the table, and the requests to time.
async fn fixtures(app: &App) -> Result<Vec<Case>, BoxError> {
    let email = format!("bench-{}@example.com", Timestamp::now().unix());
    let password = "benchmark password 1";
    let registration = parse_document(json!({"email": email, "password": password, "name": "Bench"}))?;
    // Verified, as the operator tool makes accounts: orders take a verified
    // email.
    let user = users::create_user(&app.store, registration, Role::Customer).await?;
    let token = auth::issue_token(
        app.config.jwt_secret()?,
        &user.id,
        Role::Customer,
        0,
        Timestamp::now(),
    )?;
    let product = products::add_product(
        &app.store,
        parse_document(json!({"name": "Bench mug", "category": "bench", "price": 1000, "stock": 1_000_000}))?,
        &app.config.store_currency,
        &app.config.store_country,
    )
    .await?;
    let address =
        json!({"name": "B", "line1": "1 Road", "city": "Town", "postal_code": "SW1A 1AA", "country": "GB"});
    Ok(vec![
        // It answers anything; the event is products-get's.
        Case {
            function: REFERENCE.into(),
            method: "GET",
            path: format!("/products/{}", product.id),
            body: None,
            token: None,
        },
        Case {
            function: "products-get".into(),
            method: "GET",
            path: format!("/products/{}", product.id),
            body: None,
            token: None,
        },
        Case {
            function: "products-list".into(),
            method: "GET",
            path: "/products?limit=20".into(),
            body: None,
            token: None,
        },
        Case {
            function: "users-get-me".into(),
            method: "GET",
            path: "/users/me".into(),
            body: None,
            token: Some(token.clone()),
        },
        Case {
            function: "orders-create".into(),
            method: "POST",
            path: "/orders".into(),
            body: Some(
                json!({"items": [{"product_id": product.id, "quantity": 1}], "shipping_address": address}),
            ),
            token: Some(token),
        },
        Case {
            function: "auth-login".into(),
            method: "POST",
            path: "/auth/login".into(),
            body: Some(json!({"email": email, "password": password})),
            token: None,
        },
    ])
}
