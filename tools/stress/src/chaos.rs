//! `make chaos`: customers order (with and without `Idempotency-Key`), pay
//! (webhooks duplicated, delayed, reordered), cancel, leave orders to
//! expire, pay too late, get refunds, have orders delivered, return them
//! and review; an admin restocks. All of it through the gateway, while the
//! proxy, the provider stub and the gateway inject faults. Then the faults
//! stop, the stack settles (workers, expiry, reconciler), and the invariants
//! are checked from the table and the provider's ledger.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::BoxError;
use shared::adapters::payments::webhook;
use shared::foundation::secret::Secret;
use stress::faults::Mode;
use stress::provider::Ledger;

use crate::client::Client;

#[derive(clap::Args)]
pub struct Settings {
    #[arg(long, env = "SHOP_API_URL")]
    api: String,
    /// The fault-injecting proxy in front of the emulator.
    #[arg(long, env = "CHAOS_PROXY_URL")]
    proxy: String,
    /// The provider stub.
    #[arg(long, env = "CHAOS_PROVIDER_URL")]
    provider: String,
    /// The emulator itself, for reading the table at the end.
    #[arg(long, env = "CHAOS_EMULATOR_URL")]
    emulator: String,
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    #[arg(long, env = "PAYMENT_WEBHOOK_SECRET")]
    webhook_secret: String,
    #[arg(long, env = "CHAOS_ADMIN_EMAIL")]
    admin_email: String,
    #[arg(long, env = "CHAOS_ADMIN_PASSWORD")]
    admin_password: String,
    #[arg(long, env = "ORDER_TTL_SECONDS")]
    order_ttl_secs: u64,
    /// Client operations (HTTP requests, retries not counted) to make.
    #[arg(long, default_value_t = 2000)]
    operations: u64,
    /// Share of DynamoDB, SQS and provider calls that meet a fault.
    #[arg(long, default_value_t = 0.1)]
    fault_rate: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 40)]
    customers: usize,
    #[arg(long, default_value_t = 30)]
    products: usize,
    /// Journeys in flight at once.
    #[arg(long, default_value_t = 12)]
    concurrency: usize,
    /// How long the stack may take to settle once the faults stop.
    #[arg(long, default_value_t = 150)]
    settle_secs: u64,
    /// Where the report is written (Markdown) besides the terminal.
    #[arg(long, default_value = ".local/chaos.md")]
    out: String,
}

/// What the workload knows: what it did, as the answers told it.
#[derive(Default)]
struct Book {
    /// Idempotency-Key of `POST /orders` → the order ids its 201s named.
    order_keys: BTreeMap<String, BTreeSet<String>>,
    /// Order id → its owner's user id.
    owners: HashMap<String, String>,
    /// Product → units added by restocks that were answered 200.
    restocked: BTreeMap<String, i64>,
    /// Restocks whose outcome the client never learnt (gave up).
    restocks_unknown: u64,
    /// Webhook deliveries that never got a 2xx.
    undelivered: u64,
    /// Actions answered something the contract does not allow for them.
    surprises: Vec<String>,
}

struct Run {
    client: Client,
    settings: Settings,
    secret: Secret,
    admin: String,
    customers: Vec<(String, String)>,
    products: Vec<String>,
    ops: AtomicU64,
    book: Mutex<Book>,
    http: reqwest::Client,
}

impl Run {
    fn op(&self) -> u64 {
        self.ops.fetch_add(1, Ordering::Relaxed)
    }

    fn book(&self, change: impl FnOnce(&mut Book)) {
        if let Ok(mut book) = self.book.lock() {
            change(&mut book);
        }
    }

    fn surprise(&self, what: String) {
        eprintln!("chaos: unexpected: {what}");
        self.book(|b| b.surprises.push(what));
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> crate::client::Reply {
        self.op();
        self.client.call(method, path, Some(token), body, key, &[]).await
    }

    /// Delivers a provider event as Stripe does: signed, retried until a
    /// `2xx`, sometimes twice, sometimes late.
    async fn deliver(&self, event: Value, rng: &mut fastrand::Rng) {
        let body = event.to_string();
        let copies = if rng.u8(0..4) == 0 { 2 } else { 1 };
        for _ in 0..copies {
            if rng.bool() {
                tokio::time::sleep(Duration::from_millis(rng.u64(0..1500))).await;
            }
            let mut delivered = false;
            for _ in 0..5 {
                self.op();
                let signature = webhook::sign(
                    &self.secret,
                    time::OffsetDateTime::now_utc().unix_timestamp(),
                    body.as_bytes(),
                );
                let reply = self
                    .client
                    .call(
                        Method::POST,
                        "/payments/webhook",
                        None,
                        Some(Value::String(body.clone())),
                        None,
                        &[("stripe-signature", signature)],
                    )
                    .await;
                if reply.status.is_success() {
                    delivered = true;
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if !delivered {
                self.book(|b| b.undelivered += 1);
            }
        }
    }

    async fn provider(&self, path: &str) -> Result<Value, BoxError> {
        Ok(self
            .http
            .post(format!("{}{path}", self.settings.provider))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Starts the payment and captures it at the provider: the event to
    /// deliver, if the order was payable.
    async fn pay(&self, token: &str, order: &str) -> Option<Value> {
        let intent = self.start_payment(token, order).await?;
        self.capture(&intent).await
    }

    /// A card paying the intent: its `payment_intent.succeeded` event, or
    /// `None` if the provider refused (the intent was cancelled).
    async fn capture(&self, intent: &str) -> Option<Value> {
        self.provider(&format!("/_ledger/capture/{intent}")).await.ok()
    }

    /// Starts the order's payment: its intent, if the order was payable.
    async fn start_payment(&self, token: &str, order: &str) -> Option<String> {
        let reply = self
            .call(
                Method::POST,
                &format!("/orders/{order}/payment"),
                token,
                None,
                None,
            )
            .await;
        if !reply.status.is_success() {
            if reply.code() != "INVALID_STATE" {
                self.surprise(format!("payment of {order}: {} {}", reply.status, reply.body));
            }
            return None;
        }
        reply.body["provider_payment_id"].as_str().map(str::to_owned)
    }

    async fn status(&self, token: &str, order: &str) -> String {
        let reply = self
            .client
            .send(Method::GET, &format!("/orders/{order}"), Some(token), None)
            .await;
        reply.body["status"].as_str().unwrap_or_default().to_owned()
    }

    async fn journey(self: Arc<Self>, n: u64) {
        let mut rng = fastrand::Rng::with_seed(self.settings.seed.wrapping_mul(1_000_003).wrapping_add(n));
        let (user, token) = self.customers[rng.usize(..self.customers.len())].clone();
        if rng.u8(0..20) == 0 {
            return self.restock(&mut rng).await;
        }
        if rng.u8(0..50) == 0 {
            return self.stray_payment(&mut rng).await;
        }
        let mut chosen = BTreeSet::new();
        for _ in 0..rng.usize(1..=3) {
            chosen.insert(self.products[rng.usize(..self.products.len())].clone());
        }
        let items: Vec<Value> = chosen
            .iter()
            .map(|p| json!({"product_id": p, "quantity": rng.u32(1..=3)}))
            .collect();
        let body = json!({"items": items, "shipping_address": {
            "name": "Chaos Customer", "line1": "1 Fault Street", "city": "Springfield",
            "postal_code": "12345", "country": "US"}});
        let key = (rng.u8(0..10) < 7).then(|| format!("chaos-{}-{n}", self.settings.seed));
        let placed = self
            .call(
                Method::POST,
                "/orders",
                &token,
                Some(body.clone()),
                key.as_deref(),
            )
            .await;
        if placed.status != StatusCode::CREATED {
            if !matches!(
                placed.code(),
                "OUT_OF_STOCK" | "PRODUCT_UNAVAILABLE" | "TOO_MANY_UNPAID_ORDERS"
            ) {
                self.surprise(format!("order: {} {}", placed.status, placed.body));
            }
            return;
        }
        let Some(order) = placed.body["id"].as_str().map(str::to_owned) else {
            return;
        };
        self.book(|b| {
            b.owners.insert(order.clone(), user.clone());
            if let Some(key) = &key {
                b.order_keys.entry(key.clone()).or_default().insert(order.clone());
            }
        });
        // A repeat of the same request, as a client unsure of the first.
        if let Some(key) = &key
            && rng.u8(0..10) == 0
        {
            let again = self
                .call(Method::POST, "/orders", &token, Some(body), Some(key))
                .await;
            if let Some(id) = again.body["id"].as_str() {
                self.book(|b| {
                    b.order_keys.entry(key.clone()).or_default().insert(id.to_owned());
                });
            }
        }
        let path = |action: &str| format!("/orders/{order}/{action}");
        let action_key = |action: &str| Some(format!("chaos-{}-{n}-{action}", self.settings.seed));
        match rng.u8(0..100) {
            // Paid.
            0..50 => {
                let Some(event) = self.pay(&token, &order).await else {
                    return;
                };
                self.deliver(event, &mut rng).await;
                match rng.u8(0..100) {
                    0..20 => {
                        let reply = self
                            .call(
                                Method::POST,
                                &path("refund"),
                                &token,
                                None,
                                action_key("refund").as_deref(),
                            )
                            .await;
                        // The shipping worker may have shipped it first.
                        if reply.status != StatusCode::ACCEPTED && reply.code() != "INVALID_STATE" {
                            self.surprise(format!("refund: {} {}", reply.status, reply.body));
                        }
                    }
                    20..60 => self.deliver_and_after(&token, &order, &mut rng, n).await,
                    _ => {}
                }
            }
            // Cancelled: sometimes after the card paid (a late payment),
            // sometimes with a payment started that the card then tries to
            // pay (its intent was cancelled: the provider refuses).
            50..65 => {
                let (event, abandoned) = match rng.u8(0..3) {
                    0 => (self.pay(&token, &order).await, None),
                    1 => (None, self.start_payment(&token, &order).await),
                    _ => (None, None),
                };
                let reply = self
                    .call(
                        Method::POST,
                        &path("cancel"),
                        &token,
                        None,
                        action_key("cancel").as_deref(),
                    )
                    .await;
                if reply.status != StatusCode::OK && reply.code() != "INVALID_STATE" {
                    self.surprise(format!("cancel: {} {}", reply.status, reply.body));
                }
                if let Some(event) = event {
                    self.deliver(event, &mut rng).await;
                }
                // A refused capture takes no money; one that got through
                // (the intent's cancel failed) must be refunded as a late
                // payment.
                if let Some(intent) = abandoned
                    && let Some(event) = self.capture(&intent).await
                {
                    self.deliver(event, &mut rng).await;
                }
            }
            // Left to expire; sometimes paid after it did.
            65..80 if rng.u8(0..4) == 0 => {
                let event = self.pay(&token, &order).await;
                tokio::time::sleep(Duration::from_secs(self.settings.order_ttl_secs + 8)).await;
                if let Some(event) = event {
                    self.deliver(event, &mut rng).await;
                }
            }
            _ => {}
        }
    }

    /// Waits for the order to ship, delivers it, then reviews or returns.
    async fn deliver_and_after(&self, token: &str, order: &str, rng: &mut fastrand::Rng, n: u64) {
        let started = Instant::now();
        loop {
            match self.status(token, order).await.as_str() {
                "SHIPPED" => break,
                "PAID" | "PENDING_PAYMENT" if started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                _ => return,
            }
        }
        let key = |what: &str| format!("chaos-{}-{n}-{what}", self.settings.seed);
        for status in ["IN_TRANSIT", "DELIVERED"] {
            let reply = self
                .call(
                    Method::POST,
                    &format!("/shipments/{order}/events"),
                    &self.admin,
                    Some(json!({"status": status})),
                    Some(&key(status)),
                )
                .await;
            if reply.status != StatusCode::CREATED {
                self.surprise(format!(
                    "shipment event {status}: {} {}",
                    reply.status, reply.body
                ));
                return;
            }
        }
        if rng.bool() {
            let order_body = self
                .client
                .send(Method::GET, &format!("/orders/{order}"), Some(token), None)
                .await
                .body;
            for line in order_body["items"].as_array().cloned().unwrap_or_default() {
                let product = line["product_id"].as_str().unwrap_or_default();
                let reply = self
                    .call(
                        Method::POST,
                        &format!("/products/{product}/reviews"),
                        token,
                        Some(json!({"rating": rng.u8(1..=5), "title": "Chaos", "body": "Survived the chaos run."})),
                        Some(&key(&format!("review-{product}"))),
                    )
                    .await;
                if reply.status != StatusCode::CREATED && reply.code() != "ALREADY_REVIEWED" {
                    self.surprise(format!("review: {} {}", reply.status, reply.body));
                }
            }
        } else if rng.u8(0..3) == 0 {
            let reply = self
                .call(
                    Method::POST,
                    &format!("/orders/{order}/return"),
                    token,
                    Some(json!({"reason": "Changed my mind"})),
                    Some(&key("return")),
                )
                .await;
            if reply.status != StatusCode::ACCEPTED {
                self.surprise(format!("return: {} {}", reply.status, reply.body));
                return;
            }
            let reply = self
                .call(
                    Method::POST,
                    &format!("/orders/{order}/return/receive"),
                    &self.admin,
                    None,
                    Some(&key("receive")),
                )
                .await;
            if reply.status != StatusCode::ACCEPTED {
                self.surprise(format!("receive: {} {}", reply.status, reply.body));
            }
        }
    }

    async fn restock(&self, rng: &mut fastrand::Rng) {
        let product = self.products[rng.usize(..self.products.len())].clone();
        let units = rng.i64(1..=10);
        let key = format!("chaos-restock-{}-{}", self.settings.seed, rng.u64(..));
        let reply = self
            .call(
                Method::PATCH,
                &format!("/products/{product}"),
                &self.admin,
                Some(json!({"stock_delta": units})),
                Some(&key),
            )
            .await;
        match reply.status {
            StatusCode::OK => self.book(|b| *b.restocked.entry(product).or_default() += units),
            status if status.is_server_error() => self.book(|b| b.restocks_unknown += 1),
            _ => self.surprise(format!("restock: {} {}", reply.status, reply.body)),
        }
    }

    /// A signed payment the shop never made (another integration's on the
    /// same account, its metadata naming an order id): the shop must leave
    /// it alone, never refund it.
    async fn stray_payment(&self, rng: &mut fastrand::Rng) {
        let order = uuid::Uuid::now_v7();
        let Ok(response) = self
            .http
            .post(format!("{}/_ledger/stray", self.settings.provider))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("amount", &rng.u32(100..5000).to_string())
                    .append_pair("currency", "usd")
                    .append_pair("metadata[shop_order_id]", &order.to_string())
                    .finish(),
            )
            .send()
            .await
        else {
            return;
        };
        if let Ok(event) = response.json::<Value>().await {
            self.deliver(event, rng).await;
        }
    }
}

async fn set_faults(http: &reqwest::Client, url: &str, mode: Mode) -> Result<(), BoxError> {
    http.put(format!("{url}/_faults"))
        .json(&mode)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
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
        if !registered.status.is_success() && registered.code() != "EMAIL_TAKEN" {
            return Err(format!("register: {} {}", registered.status, registered.body).into());
        }
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
                    "price": rng.i64(100..10_000), "stock": stock})),
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
    let settle_started = Instant::now();
    let mut snapshot;
    loop {
        snapshot = table.snapshot().await?;
        let pending = snapshot.unsettled();
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
    let book = run.book.lock().map_err(|_| "poisoned")?;
    let seen = client.seen();
    let checks = check(&snapshot, &ledger, &book, &initial, &seen);

    let mut report = String::new();
    report.push_str(&format!(
        "# make chaos\n\n{} client operations ({} requests with retries) in {:.0} s, faults at {:.0} % (seed {}); settled in {:.0} s.\n\n",
        run.ops.load(Ordering::Relaxed),
        seen.attempts,
        worked.as_secs_f64(),
        run.settings.fault_rate * 100.0,
        run.settings.seed,
        settled.as_secs_f64()
    ));
    report.push_str(&format!(
        "Orders: {} ({}). Provider: {} intents, {} captured, {} cancelled, {} refunded, {} idempotent replays; faults {:?}.\n\n",
        snapshot.orders.len(),
        snapshot.by_status().iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
        ledger.intents.len(),
        ledger.intents.values().filter(|i| i.captured).count(),
        ledger.intents.values().filter(|i| i.canceled).count(),
        ledger.intents.values().filter(|i| !i.refunds.is_empty()).count(),
        ledger.replays,
        ledger.faults,
    ));
    report.push_str(&format!(
        "Faults injected between the functions and DynamoDB/SQS: {faults}\n\n"
    ));
    report.push_str(&format!("Answers seen by clients: {:?}\n\n", seen.statuses));
    report.push_str("| invariant | checked | violations |\n| --- | --- | --- |\n");
    let mut violations = 0;
    for check in &checks {
        report.push_str(&format!(
            "| {} | {} | {} |\n",
            check.name,
            check.checked,
            check.failures.len()
        ));
        violations += check.failures.len();
    }
    for check in &checks {
        for failure in check.failures.iter().take(10) {
            report.push_str(&format!("\n- {}: {failure}", check.name));
        }
    }
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

// ---------------------------------------------------------------- the table at the end

struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

/// The items the invariants read, as JSON.
#[derive(Default)]
struct Snapshot {
    orders: BTreeMap<String, Value>,
    payments: BTreeMap<String, Value>,
    shipments: BTreeSet<String>,
    /// Product → (stock, rating count, rating sum) over its counters.
    counters: BTreeMap<String, (i64, u64, u64)>,
    /// Product → (reviews, rating sum).
    reviews: BTreeMap<String, (u64, u64)>,
    /// User → their count of unpaid orders (the hoarding limit's).
    unpaid: BTreeMap<String, i64>,
    now: i64,
}

impl Table {
    async fn connect(endpoint: &str, name: &str) -> Self {
        let aws = shared::adapters::aws_defaults()
            .expect("an HTTPS client")
            .endpoint_url(endpoint)
            .load()
            .await;
        Self {
            client: aws_sdk_dynamodb::Client::new(&aws),
            name: name.to_owned(),
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, BoxError> {
        let mut snapshot = Snapshot {
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
            ..Snapshot::default()
        };
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => String::new(),
                };
                let (pk, sk) = (text("PK"), text("SK"));
                let value: Value = serde_dynamo::from_item(item.clone())?;
                let number = |name: &str| value[name].as_i64().unwrap_or(0);
                if let Some(order) = pk.strip_prefix("ORDER#") {
                    match sk.as_str() {
                        "ORDER" => drop(snapshot.orders.insert(order.to_owned(), value)),
                        "PAYMENT" => drop(snapshot.payments.insert(order.to_owned(), value)),
                        "SHIPMENT" => drop(snapshot.shipments.insert(order.to_owned())),
                        _ => {}
                    }
                } else if sk == "STOCK" {
                    let product = value["product_id"].as_str().unwrap_or_default().to_owned();
                    let entry = snapshot.counters.entry(product).or_default();
                    entry.0 += number("stock");
                    entry.1 += u64::try_from(number("rating_count")).unwrap_or(0);
                    entry.2 += u64::try_from(number("rating_sum")).unwrap_or(0);
                } else if sk == "UNPAID" {
                    let user = pk.trim_start_matches("USER#").to_owned();
                    snapshot.unpaid.insert(user, number("unpaid"));
                } else if sk == "REVIEW" {
                    let product = value["product_id"].as_str().unwrap_or_default().to_owned();
                    let entry = snapshot.reviews.entry(product).or_default();
                    entry.0 += 1;
                    entry.1 += u64::try_from(number("rating")).unwrap_or(0);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(snapshot)
    }
}

fn status(order: &Value) -> &str {
    order["status"].as_str().unwrap_or_default()
}

fn epoch(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

impl Snapshot {
    fn by_status(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for order in self.orders.values() {
            *counts.entry(status(order)).or_default() += 1;
        }
        counts
    }

    /// Orders still owed work: paid but not shipped, refunds in flight
    /// (not refused), unpaid past their expiry (with a minute's grace for
    /// the schedule).
    fn unsettled(&self) -> usize {
        self.orders
            .iter()
            .filter(|(id, order)| self.stuck(id, order).is_some())
            .count()
    }

    fn stuck(&self, id: &str, order: &Value) -> Option<&'static str> {
        let payment = self.payments.get(id);
        match status(order) {
            "PAID" => Some("PAID, never shipped"),
            "REFUND_PENDING" if payment.is_none_or(|p| p["refund_error"].is_null()) => {
                Some("REFUND_PENDING with no refund in flight")
            }
            "PENDING_PAYMENT" if epoch(&order["expires_at"]).is_some_and(|at| at + 60 < self.now) => {
                Some("PENDING_PAYMENT past its expiry")
            }
            _ => None,
        }
    }

    /// Units an order holds: reserved, sold, or (refunded without restock)
    /// gone with the customer.
    fn held(&self, id: &str, order: &Value) -> i64 {
        let units: i64 = order["items"]
            .as_array()
            .map(|lines| lines.iter().map(|l| l["quantity"].as_i64().unwrap_or(0)).sum())
            .unwrap_or(0);
        let payment = self.payments.get(id);
        let late = payment.is_some_and(|p| p["paid_late"].as_bool() == Some(true));
        let restocks = payment.is_some_and(|p| p["refund_restock"].as_bool() == Some(true));
        match status(order) {
            "CANCELLED" => 0,
            "REFUND_PENDING" | "REFUNDED" if late => 0,
            "REFUNDED" if restocks => 0,
            _ => units,
        }
    }
}

struct Check {
    name: &'static str,
    checked: usize,
    failures: Vec<String>,
}

fn check(
    snapshot: &Snapshot,
    ledger: &Ledger,
    book: &Book,
    initial: &BTreeMap<String, i64>,
    seen: &crate::client::Seen,
) -> Vec<Check> {
    let mut checks = Vec::new();

    // Stock: initial + restocks = stock now + units held by orders.
    let mut held: BTreeMap<&str, i64> = BTreeMap::new();
    for (id, order) in &snapshot.orders {
        for line in order["items"].as_array().cloned().unwrap_or_default() {
            let product = line["product_id"].as_str().unwrap_or_default();
            if let Some((known, _)) = initial.get_key_value(product) {
                let share = if snapshot.held(id, order) > 0 {
                    line["quantity"].as_i64().unwrap_or(0)
                } else {
                    0
                };
                *held.entry(known.as_str()).or_default() += share;
            }
        }
    }
    let mut failures = Vec::new();
    for (product, start) in initial {
        let restocked = book.restocked.get(product).copied().unwrap_or(0);
        let now = snapshot.counters.get(product).map_or(0, |c| c.0);
        let holding = held.get(product.as_str()).copied().unwrap_or(0);
        if start + restocked != now + holding {
            failures.push(format!(
                "product {product}: {start} + {restocked} restocked ≠ {now} in stock + {holding} held"
            ));
        }
    }
    if book.restocks_unknown > 0 {
        failures.push(format!("{} restocks never answered", book.restocks_unknown));
    }
    checks.push(Check {
        name: "stock conservation per product",
        checked: initial.len(),
        failures,
    });

    // Money: each capture of the shop's belongs to a paid order, or was
    // refunded once; a capture the shop never made is never refunded.
    let mut failures = Vec::new();
    let by_intent: HashMap<&str, (&String, &Value)> = snapshot
        .payments
        .iter()
        .filter_map(|(order, p)| Some((p["provider_payment_id"].as_str()?, (order, p))))
        .collect();
    let mut captured = 0;
    for intent in ledger.intents.values() {
        if intent.refunds.len() > 1 || intent.second_refund_asks > 0 {
            failures.push(format!(
                "{}: refunded {} times, {} more asked",
                intent.id,
                intent.refunds.len(),
                intent.second_refund_asks
            ));
        }
        if !intent.captured {
            if !intent.refunds.is_empty() {
                failures.push(format!("{}: refunded without a capture", intent.id));
            }
            continue;
        }
        captured += 1;
        if !by_intent.contains_key(intent.id.as_str()) {
            if !intent.refunds.is_empty() {
                failures.push(format!(
                    "{}: a payment the shop did not make was refunded",
                    intent.id
                ));
            }
            continue;
        }
        let order = by_intent
            .get(intent.id.as_str())
            .and_then(|(order, _)| snapshot.orders.get(*order));
        let kept =
            order.is_some_and(|o| matches!(status(o), "PAID" | "SHIPPED" | "DELIVERED" | "RETURN_REQUESTED"));
        match (kept, intent.refunds.len()) {
            (true, 0) | (false, 1) => {}
            (true, _) => failures.push(format!(
                "{}: the order keeps the money and was refunded",
                intent.id
            )),
            (false, _) => failures.push(format!(
                "{}: captured for order {} ({}) and not refunded",
                intent.id,
                intent.order_id,
                order.map_or("no such order", status)
            )),
        }
    }
    for (order, payment) in &snapshot.payments {
        if payment["status"] == "refunded" {
            let refunded = payment["provider_payment_id"]
                .as_str()
                .and_then(|i| ledger.intents.get(i))
                .is_some_and(|i| i.refunds.len() == 1);
            if !refunded {
                failures.push(format!(
                    "order {order}: marked refunded, no refund at the provider"
                ));
            }
        }
    }
    checks.push(Check {
        name: "money: captures kept or refunded once, others' left alone",
        checked: captured,
        failures,
    });

    // Shipments: none for an order refunded or cancelled before shipping.
    let mut failures = Vec::new();
    for (id, order) in &snapshot.orders {
        let shipped = snapshot.shipments.contains(id);
        let went = !order["delivered_at"].is_null();
        let payment = snapshot.payments.get(id);
        let restocked_refund = payment.is_some_and(|p| p["refund_restock"].as_bool() == Some(true));
        let should_not = match status(order) {
            "CANCELLED" | "PENDING_PAYMENT" | "PAID" => true,
            "REFUND_PENDING" | "REFUNDED" => restocked_refund && !went,
            _ => false,
        };
        let should = matches!(status(order), "SHIPPED" | "DELIVERED" | "RETURN_REQUESTED");
        if shipped && should_not {
            failures.push(format!("order {id} ({}) has a shipment", status(order)));
        }
        if should && !shipped {
            failures.push(format!("order {id} ({}) has no shipment", status(order)));
        }
    }
    checks.push(Check {
        name: "shipments: at most one, none unpaid or refunded before shipping",
        checked: snapshot.orders.len(),
        failures,
    });

    // Idempotency: one order per key, and it exists for its owner.
    let mut failures = Vec::new();
    for (key, orders) in &book.order_keys {
        if orders.len() > 1 {
            failures.push(format!("key {key}: {} orders", orders.len()));
        }
        for order in orders {
            let owner = book.owners.get(order);
            let stored = snapshot.orders.get(order).and_then(|o| o["user_id"].as_str());
            if stored.is_none() || stored != owner.map(String::as_str) {
                failures.push(format!(
                    "key {key}: order {order} answered but not stored for its owner"
                ));
            }
        }
    }
    checks.push(Check {
        name: "one order per idempotency key",
        checked: book.order_keys.len(),
        failures,
    });

    // Ratings: totals on the counters equal the reviews stored.
    let mut failures = Vec::new();
    for product in initial.keys() {
        let (_, count, sum) = snapshot.counters.get(product).copied().unwrap_or_default();
        let (reviews, ratings) = snapshot.reviews.get(product).copied().unwrap_or_default();
        if (count, sum) != (reviews, ratings) {
            failures.push(format!(
                "product {product}: totals {count}/{sum}, reviews {reviews}/{ratings}"
            ));
        }
    }
    checks.push(Check {
        name: "rating totals equal the reviews stored",
        checked: initial.len(),
        failures,
    });

    // Unpaid-order counts (the hoarding limit) equal the orders awaiting
    // payment, user by user.
    let mut pending: BTreeMap<&str, i64> = BTreeMap::new();
    for order in snapshot.orders.values() {
        if status(order) == "PENDING_PAYMENT" {
            *pending
                .entry(order["user_id"].as_str().unwrap_or_default())
                .or_default() += 1;
        }
    }
    let users: BTreeSet<&str> = pending
        .keys()
        .copied()
        .chain(snapshot.unpaid.keys().map(String::as_str))
        .collect();
    let failures = users
        .iter()
        .filter_map(|user| {
            let counted = snapshot.unpaid.get(*user).copied().unwrap_or(0);
            let actual = pending.get(user).copied().unwrap_or(0);
            (counted != actual)
                .then(|| format!("user {user}: counted {counted} unpaid, {actual} awaiting payment"))
        })
        .collect();
    checks.push(Check {
        name: "unpaid-order counts equal the orders awaiting payment",
        checked: users.len(),
        failures,
    });

    // Nothing stuck after settling.
    let failures = snapshot
        .orders
        .iter()
        .filter_map(|(id, order)| snapshot.stuck(id, order).map(|why| format!("order {id}: {why}")))
        .collect();
    checks.push(Check {
        name: "no order stuck after settling",
        checked: snapshot.orders.len(),
        failures,
    });

    // Clients: no 500; every 503 says when to retry; every webhook delivered.
    let mut failures: Vec<String> = seen
        .server_errors
        .iter()
        .map(|(route, n)| format!("{route}: {n} server error(s)"))
        .collect();
    if seen.unavailable_without_retry_after > 0 {
        failures.push(format!(
            "{} 503s without Retry-After",
            seen.unavailable_without_retry_after
        ));
    }
    if book.undelivered > 0 {
        failures.push(format!("{} webhook deliveries never accepted", book.undelivered));
    }
    failures.extend(book.surprises.iter().cloned());
    checks.push(Check {
        name: "clients: no 500, 503 with Retry-After, answers the contract allows",
        checked: usize::try_from(seen.attempts).unwrap_or(0),
        failures,
    });
    checks
}
