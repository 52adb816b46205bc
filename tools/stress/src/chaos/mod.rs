//! `make chaos`: customers order (with and without `Idempotency-Key`), pay
//! (webhooks duplicated, delayed, reordered), cancel, leave orders to
//! expire, pay too late, get refunds, have orders delivered, return them
//! and review; an admin restocks. All of it through the gateway, while the
//! proxy, the provider stub and the gateway inject faults. Then the faults
//! stop, the stack settles (workers, expiry, reconciler), and the invariants
//! are checked from the table and the provider's ledger.
//!
//! In rooms: [`workload`] (the journeys and the book of what they did),
//! [`snapshot`] (the table at the end), [`invariants`] (one function per
//! invariant); this module sets the run up, runs it and writes the report.

mod invariants;
mod outbox;
mod snapshot;
mod workload;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use shared::BoxError;
use shared::foundation::secret::Secret;
use stress::faults::Mode;
use stress::provider::Ledger;

use self::invariants::Evidence;
use self::snapshot::Table;
use self::workload::{Run, set_faults};
use crate::client::Client;

#[derive(clap::Args)]
pub struct Settings {
    #[arg(long, env = "SHOP_API_URL")]
    pub(super) api: String,
    /// The fault-injecting proxy in front of the emulator.
    #[arg(long, env = "CHAOS_PROXY_URL")]
    pub(super) proxy: String,
    /// The provider stub.
    #[arg(long, env = "CHAOS_PROVIDER_URL")]
    pub(super) provider: String,
    /// The emulator itself, for reading the table at the end.
    #[arg(long, env = "CHAOS_EMULATOR_URL")]
    pub(super) emulator: String,
    #[arg(long, env = "TABLE_NAME")]
    pub(super) table: String,
    #[arg(long, env = "PAYMENT_WEBHOOK_SECRET")]
    pub(super) webhook_secret: String,
    #[arg(long, env = "CHAOS_ADMIN_EMAIL")]
    pub(super) admin_email: String,
    #[arg(long, env = "CHAOS_ADMIN_PASSWORD")]
    pub(super) admin_password: String,
    #[arg(long, env = "ORDER_TTL_SECONDS")]
    pub(super) order_ttl_secs: u64,
    /// Client operations (HTTP requests, retries not counted) to make.
    #[arg(long, default_value_t = 2000)]
    pub(super) operations: u64,
    /// Share of DynamoDB, SQS and provider calls that meet a fault.
    #[arg(long, default_value_t = 0.1)]
    pub(super) fault_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    #[arg(long, default_value_t = 40)]
    pub(super) customers: usize,
    #[arg(long, default_value_t = 30)]
    pub(super) products: usize,
    /// Journeys in flight at once.
    #[arg(long, default_value_t = 12)]
    pub(super) concurrency: usize,
    /// How long the stack may take to settle once the faults stop.
    #[arg(long, default_value_t = 150)]
    pub(super) settle_secs: u64,
    /// Where the report is written (Markdown) besides the terminal.
    #[arg(long, default_value = ".local/chaos.md")]
    pub(super) out: String,
}

pub async fn run(settings: Settings) -> Result<(), BoxError> {
    let http = shared::adapters::http_client().build().expect("an HTTP client");
    let client = Client::new(settings.api.clone(), 40);
    let quiet = Mode {
        rate: 0.0,
        seed: settings.seed,
    };
    set_faults(&http, &settings.proxy, quiet).await?;
    set_faults(&http, &settings.provider, quiet).await?;

    // The shop: an admin, customers, a catalogue (faults off).
    let Shop {
        admin,
        customers,
        products,
        initial,
        coupon,
    } = set_up_shop(&client, &settings).await?;

    // The workload, under faults.
    let fault_mode = Mode {
        rate: settings.fault_rate,
        seed: settings.seed,
    };
    set_faults(&http, &settings.proxy, fault_mode).await?;
    set_faults(&http, &settings.provider, fault_mode).await?;
    eprintln!(
        "chaos: {} operations, {} customers, {} products, faults at {:.0} %, seed {}",
        settings.operations,
        settings.customers,
        settings.products,
        settings.fault_rate * 100.0,
        settings.seed
    );
    let started = Instant::now();
    let run = Arc::new(Run {
        client: client.clone(),
        secret: Secret::new(settings.webhook_secret.clone()),
        settings,
        admin,
        customers,
        products,
        coupon,
        ops: AtomicU64::new(0),
        book: Mutex::default(),
        http: http.clone(),
    });
    let target = run.settings.operations;
    let journeys = futures::stream::iter(0..)
        .take_while(|_| {
            let going = run.ops.load(Ordering::Relaxed) < target;
            async move { going }
        })
        .for_each_concurrent(run.settings.concurrency, |n| Arc::clone(&run).journey(n));
    journeys.await;
    let worked = started.elapsed();

    // Settle: no faults, the workers and schedules finish what is owed.
    set_faults(&http, &run.settings.proxy, quiet).await?;
    set_faults(&http, &run.settings.provider, quiet).await?;
    let faults: Value = http
        .get(format!("{}/_faults", run.settings.proxy))
        .send()
        .await?
        .json()
        .await?;
    let table = Table::connect(&run.settings.emulator, &run.settings.table).await;
    let mut outbox = outbox::Outbox::connect(&run.settings.emulator, &run.settings.table).await?;
    let settle_started = Instant::now();
    let mut snapshot;
    loop {
        snapshot = table.snapshot().await?;
        // And the notifier has done what every change so far owes.
        outbox.read().await?;
        let pending = snapshot.unsettled() + outbox.unfinished(&snapshot) + snapshot.sales_gaps().len();
        if pending == 0 || settle_started.elapsed() > Duration::from_secs(run.settings.settle_secs) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let settled = settle_started.elapsed();
    let ledger: Ledger = http
        .get(format!("{}/_ledger", run.settings.provider))
        .send()
        .await?
        .json()
        .await?;
    outbox.drain_events().await?;
    let emails = outbox.emails().await?;
    let book = run.book.lock().map_err(|_| "poisoned")?;
    let seen = client.seen();
    let checks = invariants::check(&Evidence {
        snapshot: &snapshot,
        ledger: &ledger,
        book: &book,
        initial: &initial,
        seen: &seen,
        sent: &invariants::Sent {
            owed: &outbox.owed,
            emails: &emails,
            events: &outbox.events,
            reads_events: outbox.reads_events(),
        },
    });

    let (report, violations) = report(&Outcome {
        operations: run.ops.load(Ordering::Relaxed),
        worked,
        settled,
        settings: &run.settings,
        snapshot: &snapshot,
        ledger: &ledger,
        faults: &faults,
        seen: &seen,
        checks: &checks,
        notifications: {
            let outcomes = |wanted: &str| {
                snapshot
                    .claims
                    .iter()
                    .filter(|((channel, _), claim)| channel == "email" && claim["outcome"] == wanted)
                    .count()
            };
            format!(
                "Notifications: {} order changes owed an email or an event; emails sent {} (suppressed {}; accounts' emails included), {} listed by the emulator's SES (every run on it); events published {}.\n\n",
                outbox.owed.len(),
                outcomes("sent"),
                outcomes("suppressed"),
                emails.len(),
                outbox.events.len()
            )
        },
    });
    println!("{report}");
    if let Some(dir) = std::path::Path::new(&run.settings.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&run.settings.out, &report)?;
    if violations > 0 {
        return Err(format!("{violations} invariant violation(s)").into());
    }
    Ok(())
}

/// The shop a run starts from: an admin's token, customers (id, token),
/// products and their initial stock, and a coupon code.
struct Shop {
    admin: String,
    customers: Vec<(String, String)>,
    products: Vec<String>,
    initial: BTreeMap<String, i64>,
    coupon: String,
}

/// Makes the shop through the gateway (faults off): an admin logs in,
/// customers register, the catalogue is created, every third product's
/// stock spread over four counters; an automatic promotion and a coupon,
/// both limited in all and per customer, so that the run reaches their
/// limits while orders are cancelled and expire.
async fn set_up_shop(client: &Client, settings: &Settings) -> Result<Shop, BoxError> {
    let admin = client
        .login(&settings.admin_email, &settings.admin_password)
        .await?;
    let mut customers = Vec::new();
    for i in 0..settings.customers {
        let email = format!("chaos-{}-{i}@example.com", uuid::Uuid::now_v7().simple());
        let password = "chaos customer password".to_owned();
        // A retry after an injected crash finds the account made.
        let registered = client
            .send(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": email, "password": password, "name": format!("Customer {i}")})),
            )
            .await;
        if !registered.status.is_success() {
            return Err(format!("register: {} {}", registered.status, registered.body).into());
        }
        // Through the outbox: the notifier, under the run's crashes, sends
        // the link.
        client.verify(&email).await?;
        let token = client.login(&email, &password).await?;
        let me = client
            .expect(Method::GET, "/users/me", Some(&token), None)
            .await?;
        customers.push((me["id"].as_str().unwrap_or_default().to_owned(), token));
    }
    let mut rng = fastrand::Rng::with_seed(settings.seed);
    let mut products = Vec::new();
    let mut initial = BTreeMap::new();
    for i in 0..settings.products {
        let stock = rng.i64(10..60);
        let created = client
            .expect(
                Method::POST,
                "/products",
                Some(&admin),
                Some(json!({"name": format!("Chaos product {i}"), "category": "chaos",
                    "price": rng.i64(100..10_000), "stock": stock,
                    // Most are watched: their falls and restocks exercise the alert.
                    "low_stock_threshold": (i % 4 != 3).then(|| rng.i64(stock / 2..stock))})),
            )
            .await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        if i % 3 == 0 {
            let key = format!("chaos-counters-{id}");
            let spread = client
                .call(
                    Method::PATCH,
                    &format!("/products/{id}"),
                    Some(&admin),
                    Some(json!({"stock_counters": 4})),
                    Some(&key),
                    &[],
                )
                .await;
            if !spread.status.is_success() {
                return Err(format!("stock_counters: {} {}", spread.status, spread.body).into());
            }
        }
        initial.insert(id.clone(), stock);
        products.push(id);
    }
    let coupon = format!("CHAOS-{}", settings.seed);
    for promotion in [
        json!({"name": "Chaos 5 %", "kind": "percent", "percent": "5", "combinable": true,
               "usage_limit": settings.operations / 40 + 5, "per_customer_limit": 3}),
        json!({"name": "Chaos coupon", "code": coupon, "kind": "fixed", "amounts": {"USD": 150},
               "combinable": true, "usage_limit": settings.operations / 60 + 3, "per_customer_limit": 1}),
    ] {
        let made = client
            .send(Method::POST, "/promotions", Some(&admin), Some(promotion))
            .await;
        // A retry after an injected crash finds the code taken: made.
        if !made.status.is_success() && made.code() != "CODE_TAKEN" {
            return Err(format!("promotion: {} {}", made.status, made.body).into());
        }
    }
    Ok(Shop {
        admin,
        customers,
        products,
        initial,
        coupon,
    })
}

/// What a run came to, for its report.
struct Outcome<'a> {
    operations: u64,
    worked: Duration,
    settled: Duration,
    settings: &'a Settings,
    snapshot: &'a snapshot::Snapshot,
    ledger: &'a Ledger,
    faults: &'a Value,
    seen: &'a crate::client::Seen,
    checks: &'a [invariants::Check],
    notifications: String,
}

/// The Markdown report of a run, and its count of violations.
fn report(o: &Outcome) -> (String, usize) {
    let mut report = String::new();
    report.push_str(&format!(
        "# make chaos\n\n{} client operations ({} requests with retries) in {:.0} s, faults at {:.0} % (seed {}); settled in {:.0} s.\n\n",
        o.operations,
        o.seen.attempts,
        o.worked.as_secs_f64(),
        o.settings.fault_rate * 100.0,
        o.settings.seed,
        o.settled.as_secs_f64()
    ));
    report.push_str(&format!(
        "Orders: {} ({}). Provider: {} intents, {} captured, {} cancelled, {} refunded, {} idempotent replays; faults {:?}.\n\n",
        o.snapshot.orders.len(),
        o.snapshot.by_status().iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
        o.ledger.intents.len(),
        o.ledger.intents.values().filter(|i| i.captured).count(),
        o.ledger.intents.values().filter(|i| i.canceled).count(),
        o.ledger.intents.values().filter(|i| !i.refunds.is_empty()).count(),
        o.ledger.replays,
        o.ledger.faults,
    ));
    let promotions: Vec<String> = o
        .snapshot
        .promotions
        .iter()
        .map(|(id, p)| {
            let used = o.snapshot.promotion_uses.get(id).map_or(0, |u| u.0);
            format!(
                "{} {used} of {}",
                p["name"].as_str().unwrap_or(id),
                p["usage_limit"]
            )
        })
        .collect();
    report.push_str(&format!("Promotions used: {}.\n\n", promotions.join(", ")));
    report.push_str(&o.notifications);
    report.push_str(&format!(
        "Faults injected between the functions and DynamoDB/SQS: {}\n\n",
        o.faults
    ));
    report.push_str(&format!("Answers seen by clients: {:?}\n\n", o.seen.statuses));
    report.push_str("| invariant | checked | violations |\n| --- | --- | --- |\n");
    let mut violations = 0;
    for check in o.checks {
        report.push_str(&format!(
            "| {} | {} | {} |\n",
            check.name,
            check.checked,
            check.failures.len()
        ));
        violations += check.failures.len();
    }
    for check in o.checks {
        for failure in check.failures.iter().take(10) {
            report.push_str(&format!("\n- {}: {failure}", check.name));
        }
    }
    (report, violations)
}
