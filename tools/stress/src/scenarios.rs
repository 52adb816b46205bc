//! The scenarios, driven through the gateway as clients would (retrying
//! `429` and `503` after `Retry-After`), and the report. No admin prepares
//! anything: products are created with their stock and the shop spreads
//! it over counters by itself.
//!
//! - *store-wide*: customers order 1–3 lines over a catalogue whose
//!   popularity is skewed (Zipf, s = 1); of every 20 orders, 12 are paid (2
//!   of those refunded, 4 delivered and reviewed), 3 cancelled, 3 left to
//!   expire, and the rest paid and left.
//! - *checkout*: the same mix, each order placed by filling the customer's
//!   cart, giving it an address and checking it out at the total that
//!   answer showed.
//! - *flash sale*: one product with `stock` units, `buyers` concurrent
//!   orders of one unit; exactly `stock` must succeed.
//! - *flash coupon*: one coupon code with a usage limit, `buyers`
//!   concurrent orders carrying it (once the flash sale's unpaid orders
//!   expired); exactly `limit` must be placed, the rest refused
//!   `COUPON_NOT_APPLICABLE`, and the promotion's `used` must be the limit.
//! - *back office*: a catalogue of `search_products` products named from
//!   a small vocabulary, searched by one and two words once the indexer
//!   has them; admins' order searches (by status), customer lists and
//!   sales reports over what the earlier scenarios left. Each kind is
//!   metered on its own: RCU per request and the hottest partitions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::BoxError;
use shared::adapters::payments::webhook;
use shared::foundation::secret::Secret;

use stress::meter::{Usage, Use};

use crate::client::Client;

#[derive(clap::Args)]
pub struct Settings {
    /// The gateway.
    #[arg(long, env = "SHOP_API_URL")]
    api: String,
    /// The metering proxy.
    #[arg(long, env = "CAPACITY_METER_URL")]
    meter: String,
    #[arg(long, env = "PAYMENT_WEBHOOK_SECRET")]
    webhook_secret: String,
    #[arg(long, env = "ORDER_TTL_SECONDS")]
    order_ttl_secs: u64,
    /// How long the functions keep the promotions.
    #[arg(long, env = "CONFIG_CACHE_SECONDS", default_value_t = 60)]
    config_cache_secs: u64,
    #[arg(long, env = "CAPACITY_ADMIN_EMAIL")]
    admin_email: String,
    #[arg(long, env = "CAPACITY_ADMIN_PASSWORD")]
    admin_password: String,
    #[arg(long, default_value_t = 120)]
    products: usize,
    #[arg(long, default_value_t = 6)]
    categories: usize,
    #[arg(long, default_value_t = 160)]
    customers: usize,
    #[arg(long, default_value_t = 320)]
    orders: usize,
    /// The best sellers (by popularity rank) an admin spreads over
    /// `hot_counters` counters before the store-wide run (0: none; the shop
    /// spreads stock by itself).
    #[arg(long, default_value_t = 0)]
    hot_products: usize,
    #[arg(long, default_value_t = 16)]
    hot_counters: u8,
    /// Orders in flight at once in the store-wide scenario.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 200)]
    flash_stock: i64,
    /// Counters an admin sets before the flash sale (0: as the shop spread
    /// the stock by itself).
    #[arg(long, default_value_t = 0)]
    flash_counters: u8,
    #[arg(long, default_value_t = 300)]
    flash_buyers: usize,
    /// The flash coupon's usage limit.
    #[arg(long, default_value_t = 300)]
    coupon_limit: u32,
    /// Orders carrying the flash coupon at once.
    #[arg(long, default_value_t = 450)]
    coupon_buyers: usize,
    /// Which scenarios to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "store-wide,checkout,flash-sale,flash-coupon,back-office"
    )]
    scenarios: Vec<String>,
    /// Products the back-office scenario adds and searches.
    #[arg(long, default_value_t = 300)]
    search_products: usize,
    /// Where the report is written (Markdown) besides the terminal.
    #[arg(long, default_value = ".local/capacity.md")]
    out: String,
}

struct Meter {
    http: reqwest::Client,
    url: String,
}

impl Meter {
    async fn reset(&self) -> Result<(), BoxError> {
        self.http
            .post(format!("{}/_meter/reset", self.url))
            .send()
            .await?;
        Ok(())
    }

    /// Waits (up to 90 s) until the stack writes nothing for 3 s: the
    /// stream's readers (the indexer writing a new catalogue's words, the
    /// notifier) done with what came before, so that it is not charged to
    /// what is measured next.
    async fn quiet(&self) -> Result<(), BoxError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(90) {
            self.reset().await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            let written: f64 = self.read().await?.values().map(|u| u.wcu).sum();
            if written < 1.0 {
                return Ok(());
            }
        }
        eprintln!("capacity: the stack kept writing for 90 s; measuring anyway");
        Ok(())
    }

    async fn read(&self) -> Result<Usage, BoxError> {
        Ok(self
            .http
            .get(format!("{}/_meter", self.url))
            .send()
            .await?
            .json()
            .await?)
    }
}

/// Zipf (s = 1) popularity over `n` items: index i is chosen with weight 1/(i+1).
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        Self(
            (0..n)
                .map(|i| {
                    total += 1.0 / (i as f64 + 1.0);
                    total
                })
                .collect(),
        )
    }

    fn pick(&self) -> usize {
        let total = self.0.last().copied().unwrap_or(1.0);
        let x = fastrand::f64() * total;
        self.0
            .partition_point(|&c| c < x)
            .min(self.0.len().saturating_sub(1))
    }
}

pub async fn run(settings: Settings) -> Result<(), BoxError> {
    let client = Client::new(settings.api.clone(), 30);
    let meter = Meter {
        http: shared::adapters::http_client().build().expect("an HTTP client"),
        url: settings.meter.clone(),
    };
    let admin = client
        .login(&settings.admin_email, &settings.admin_password)
        .await?;
    eprintln!("capacity: registering {} customers", settings.customers);
    let customers: Vec<String> = futures::stream::iter(0..settings.customers)
        .map(|_| customer(&client))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let mut report = String::from("# Capacity report\n\n");
    if settings.scenarios.iter().any(|s| s == "store-wide") {
        report += &store_wide(&settings, &client, &meter, &admin, &customers, Placing::Direct).await?;
    }
    if settings.scenarios.iter().any(|s| s == "checkout") {
        report += &store_wide(&settings, &client, &meter, &admin, &customers, Placing::Cart).await?;
    }
    if settings.scenarios.iter().any(|s| s == "flash-sale") {
        report += &flash_sale(&settings, &client, &meter, &admin, &customers).await?;
    }
    if settings.scenarios.iter().any(|s| s == "flash-coupon") {
        report += &flash_coupon(&settings, &client, &meter, &admin, &customers).await?;
    }
    if settings.scenarios.iter().any(|s| s == "back-office") {
        report += &back_office(&settings, &client, &meter, &admin).await?;
    }
    println!("{report}");
    if let Some(dir) = std::path::Path::new(&settings.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, &report)?;
    eprintln!("capacity: report written to {}", settings.out);
    Ok(())
}

async fn customer(client: &Client) -> Result<String, BoxError> {
    let email = format!("buyer-{}@example.com", uuid::Uuid::now_v7().simple());
    let password = "capacity scenario password";
    client
        .expect(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": email, "password": password, "name": "Buyer"})),
        )
        .await?;
    client.login(&email, password).await
}

fn address() -> Value {
    json!({"name": "Ann", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "region": "US-NY", "country": "US"})
}

async fn add_product(client: &Client, admin: &str, category: &str, stock: i64) -> Result<String, BoxError> {
    let product = client
        .expect(
            Method::POST,
            "/products",
            Some(admin),
            Some(json!({
                "name": format!("{category} thing"),
                "description": "A thing of the capacity scenario, described in a sentence or two as a shop would.",
                "category": category,
                "price": fastrand::i64(500..5_000),
                "stock": stock,
            })),
        )
        .await?;
    Ok(product["id"].as_str().ok_or("no id")?.to_owned())
}

/// How the store-wide mix places its orders.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placing {
    /// `POST /orders` with the lines.
    Direct,
    /// The customer's cart filled, given an address, read and checked out.
    Cart,
}

/// Places an order through the customer's cart; `None` when the shop said
/// no (`409`).
async fn checkout(client: &Client, token: &str, lines: &[(&str, u32)]) -> Result<Option<Value>, BoxError> {
    for (id, quantity) in lines {
        let put = client
            .send(
                Method::PUT,
                &format!("/cart/items/{id}"),
                Some(token),
                Some(json!({"quantity": quantity})),
            )
            .await;
        match put.status {
            StatusCode::OK => {}
            StatusCode::CONFLICT => return Ok(None),
            other => return Err(format!("PUT /cart/items: {other} {}", put.body).into()),
        }
    }
    // The answer to the address is the cart priced there: what the
    // customer is shown, and so what the checkout expects.
    let cart = client
        .expect(
            Method::PATCH,
            "/cart",
            Some(token),
            Some(json!({"shipping_address": address()})),
        )
        .await?;
    let reply = client
        .send(
            Method::POST,
            "/cart/checkout",
            Some(token),
            Some(json!({"expected_total": cart["total"]})),
        )
        .await;
    match reply.status {
        StatusCode::CREATED => Ok(Some(reply.body)),
        StatusCode::CONFLICT => Ok(None),
        other => Err(format!("POST /cart/checkout: {other} {}", reply.body).into()),
    }
}

/// Places an order; `None` when the shop said no (`409`).
async fn order(client: &Client, token: &str, lines: &[(&str, u32)]) -> Result<Option<Value>, BoxError> {
    let items: Vec<Value> = lines
        .iter()
        .map(|(id, quantity)| json!({"product_id": id, "quantity": quantity}))
        .collect();
    let reply = client
        .send(
            Method::POST,
            "/orders",
            Some(token),
            Some(json!({"items": items, "shipping_address": address()})),
        )
        .await;
    match reply.status {
        StatusCode::CREATED => Ok(Some(reply.body)),
        StatusCode::CONFLICT => Ok(None),
        other => Err(format!("POST /orders: {other} {}", reply.body).into()),
    }
}

async fn pay(client: &Client, token: &str, secret: &Secret, order: &Value) -> Result<(), BoxError> {
    let id = order["id"].as_str().ok_or("no id")?;
    let payment = client
        .expect(Method::POST, &format!("/orders/{id}/payment"), Some(token), None)
        .await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = json!({
        "id": format!("evt_capacity_{}", uuid::Uuid::now_v7().simple()),
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": now,
        "data": {"object": {
            "id": payment["provider_payment_id"],
            "object": "payment_intent",
            "amount_received": order["total"],
            "currency": order["currency"].as_str().unwrap_or("usd").to_ascii_lowercase(),
            "metadata": {"shop_order_id": id},
        }},
    });
    let body = event.to_string();
    let signature = webhook::sign(secret, now, body.as_bytes());
    let reply = client
        .call(
            Method::POST,
            "/payments/webhook",
            None,
            Some(Value::String(body)),
            None,
            &[("stripe-signature", signature)],
        )
        .await;
    if !reply.status.is_success() {
        return Err(format!("the webhook failed: {} {}", reply.status, reply.body).into());
    }
    Ok(())
}

/// Waits for the shipping worker, marks the order delivered, reviews its
/// first product.
async fn deliver_and_review(
    client: &Client,
    token: &str,
    admin: &str,
    order: &Value,
) -> Result<(), BoxError> {
    let id = order["id"].as_str().ok_or("no id")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let shipment = loop {
        let reply = client
            .send(Method::GET, &format!("/orders/{id}/shipment"), Some(token), None)
            .await;
        if reply.status == StatusCode::OK {
            break reply.body;
        }
        if Instant::now() > deadline {
            return Err(format!("order {id} was never shipped").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let shipment_id = shipment["id"].as_str().ok_or("no shipment id")?;
    client
        .expect(
            Method::POST,
            &format!("/shipments/{shipment_id}/events"),
            Some(admin),
            Some(json!({"status": "DELIVERED"})),
        )
        .await?;
    let product = order["items"][0]["product_id"].as_str().ok_or("no line")?;
    let review = client
        .send(
            Method::POST,
            &format!("/products/{product}/reviews"),
            Some(token),
            Some(json!({"rating": fastrand::u8(1..=5), "body": "As described."})),
        )
        .await;
    // A customer who bought a popular product twice reviews it once.
    match review.status {
        StatusCode::CREATED | StatusCode::CONFLICT => Ok(()),
        other => Err(format!("review: {other} {}", review.body).into()),
    }
}

/// Spreads a product's stock over `counters` counters; a shop without
/// counters (`400`: an older build, measured for comparison) keeps one.
async fn spread(client: &Client, admin: &str, product: &str, counters: u8) -> Result<(), BoxError> {
    patch_product(client, admin, product, json!({"stock_counters": counters})).await
}

/// An admin's `PATCH /products/{id}`; a build older than the field it
/// sets refuses it (`400`), and the scenario goes on without it.
async fn patch_product(client: &Client, admin: &str, product: &str, body: Value) -> Result<(), BoxError> {
    let reply = client
        .send(
            Method::PATCH,
            &format!("/products/{product}"),
            Some(admin),
            Some(body.clone()),
        )
        .await;
    match reply.status {
        StatusCode::OK => Ok(()),
        StatusCode::BAD_REQUEST => {
            eprintln!("capacity: this build does not take {body}; the product goes on without it");
            Ok(())
        }
        other => Err(format!("patching {product}: {other} {}", reply.body).into()),
    }
}

/// An admin's refund; a shipment that got in between (`409`) is refunded
/// from where it is now.
async fn refund(client: &Client, admin: &str, id: &str) -> Result<(), BoxError> {
    for _ in 0..3 {
        let reply = client
            .send(Method::POST, &format!("/orders/{id}/refund"), Some(admin), None)
            .await;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status != StatusCode::CONFLICT {
            return Err(format!("refund of {id}: {} {}", reply.status, reply.body).into());
        }
    }
    Err(format!("refund of {id} kept conflicting").into())
}

async fn store_wide(
    settings: &Settings,
    client: &Client,
    meter: &Meter,
    admin: &str,
    customers: &[String],
    placing: Placing,
) -> Result<String, BoxError> {
    let name = match placing {
        Placing::Direct => "store-wide",
        Placing::Cart => "checkout",
    };
    eprintln!("capacity: {name}: adding {} products", settings.products);
    let categories: Vec<String> = (0..settings.categories).map(|i| format!("cap-{i}")).collect();
    let products: Vec<String> = futures::stream::iter(0..settings.products)
        .map(|i| add_product(client, admin, &categories[i % categories.len()], 10_000))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for hot in products.iter().take(settings.hot_products) {
        spread(client, admin, hot, settings.hot_counters).await?;
    }
    let zipf = Zipf::new(products.len());
    let secret = Secret::new(settings.webhook_secret.clone());
    meter.quiet().await?;
    meter.reset().await?;
    eprintln!(
        "capacity: store-wide: {} orders, {} at a time",
        settings.orders, settings.concurrency
    );
    let started = Instant::now();
    let outcomes = futures::stream::iter(0..settings.orders)
        .map(|i| {
            let (zipf, products, secret) = (&zipf, &products, &secret);
            async move {
                let token = &customers[i % customers.len()];
                let mut chosen: Vec<usize> = Vec::new();
                while chosen.len() < 1 + i % 3 {
                    let pick = zipf.pick();
                    if !chosen.contains(&pick) {
                        chosen.push(pick);
                    }
                }
                let lines: Vec<(&str, u32)> = chosen.iter().map(|&p| (products[p].as_str(), 1)).collect();
                let placed = match placing {
                    Placing::Direct => order(client, token, &lines).await?,
                    Placing::Cart => checkout(client, token, &lines).await?,
                };
                let Some(placed) = placed else {
                    return Ok::<_, BoxError>(false);
                };
                let id = placed["id"].as_str().ok_or("no id")?.to_owned();
                match i % 20 {
                    0..=11 | 18 | 19 => {
                        pay(client, token, secret, &placed).await?;
                        match i % 20 {
                            0 | 1 => refund(client, admin, &id).await?,
                            2..=5 => deliver_and_review(client, token, admin, &placed).await?,
                            _ => {}
                        }
                    }
                    12..=14 => {
                        // On a loaded machine the expiry (15 s) may get there
                        // first: the order is cancelled either way.
                        let cancelled = client
                            .send(Method::POST, &format!("/orders/{id}/cancel"), Some(token), None)
                            .await;
                        if !cancelled.status.is_success() && cancelled.body["status"] != "CANCELLED" {
                            return Err(format!("cancel: {} {}", cancelled.status, cancelled.body).into());
                        }
                    }
                    _ => {} // left to expire
                }
                Ok(true)
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut placed = 0;
    for outcome in outcomes {
        placed += usize::from(outcome?);
    }
    let elapsed = started.elapsed();
    let settle = Duration::from_secs(settings.order_ttl_secs + 8);
    eprintln!("capacity: {name}: {placed} orders in {elapsed:?}; settling {settle:?} (expiry, workers)");
    tokio::time::sleep(settle).await;
    let usage = meter.read().await?;
    let prepared = match settings.hot_products {
        0 => "no admin preparation: each product's 10,000 units spread by the shop itself".to_owned(),
        hot => format!(
            "the {hot} best sellers spread over {} counters by an admin",
            settings.hot_counters
        ),
    };
    let (title, how) = match placing {
        Placing::Direct => ("Store-wide", "placed with `POST /orders`"),
        Placing::Cart => (
            "Checkout",
            "each placed through the customer's cart (lines put, address set, checked out at the total that answer showed)",
        ),
    };
    let mut section = format!(
        "## {title}\n\n{placed} orders of 1–3 lines by {} customers over {} products in {} categories \
         (Zipf popularity; {prepared}), {how}; of every 20: 12 paid (2 refunded, 4 \
         delivered and reviewed), 3 cancelled, 3 expired, 2 paid and left.\n\n",
        customers.len(),
        products.len(),
        categories.len(),
    );
    section += &partitions(&usage, placed as f64, "order");
    if placing == Placing::Cart {
        return Ok(section);
    }

    // Reads: listings and product pages, each metered alone.
    let popular = &products[0];
    let reads: [(&str, String); 3] = [
        (
            "catalogue listing (`GET /products?limit=20`)",
            "/products?limit=20".into(),
        ),
        (
            "category listing (`GET /products?category=…&limit=20`)",
            format!("/products?category={}&limit=20", categories[0]),
        ),
        (
            "product page (`GET /products/{id}`, the most popular)",
            format!("/products/{popular}"),
        ),
    ];
    section += "\nReads, 40 of each, metered alone:\n\n| request | hottest partition | RCU per request | ceiling (requests/s) |\n| --- | --- | --- | --- |\n";
    for (name, path) in reads {
        meter.reset().await?;
        for _ in 0..40 {
            client.expect(Method::GET, &path, None, None).await?;
        }
        let usage = meter.read().await?;
        if let Some((partition, used)) = hottest(&usage, |u| u.rcu) {
            let per = used.rcu / 40.0;
            section += &format!(
                "| {name} | `{}` | {per:.2} | {:.0} |\n",
                short(&partition),
                3000.0 / per
            );
        }
    }
    section += "\n";
    Ok(section)
}

async fn flash_sale(
    settings: &Settings,
    client: &Client,
    meter: &Meter,
    admin: &str,
    customers: &[String],
) -> Result<String, BoxError> {
    let product = add_product(client, admin, "flash", settings.flash_stock).await?;
    if settings.flash_counters > 0 {
        spread(client, admin, &product, settings.flash_counters).await?;
    }
    // Watched, as a shop watches what it sells out of: the notifier reads
    // the product when its counters run low, and publishes its fall once.
    let threshold = settings.flash_stock / 10;
    patch_product(client, admin, &product, json!({"low_stock_threshold": threshold})).await?;
    let counters = client
        .expect(Method::GET, &format!("/products/{product}"), None, None)
        .await?["stock_counters"]
        .as_u64()
        .unwrap_or(1);
    meter.quiet().await?;
    meter.reset().await?;
    eprintln!(
        "capacity: flash sale: {} buyers at once for {} units over {counters} counters",
        settings.flash_buyers, settings.flash_stock
    );
    let started = Instant::now();
    let attempts = (0..settings.flash_buyers).map(|i| {
        let product = product.as_str();
        async move { order(client, &customers[i % customers.len()], &[(product, 1)]).await }
    });
    let mut placed = 0;
    let mut refused = 0;
    for outcome in futures::future::join_all(attempts).await {
        match outcome? {
            Some(_) => placed += 1,
            None => refused += 1,
        }
    }
    let elapsed = started.elapsed();
    let usage = meter.read().await?;
    let left = client
        .expect(Method::GET, &format!("/products/{product}"), None, None)
        .await?["stock"]
        .as_i64()
        .unwrap_or(-1);
    let expected = settings.flash_stock.min(settings.flash_buyers as i64);
    let exact = placed == expected && left == settings.flash_stock - placed;
    eprintln!("capacity: flash sale: {placed} placed, {refused} refused in {elapsed:?}; stock left {left}");
    let mut section = format!(
        "## Flash sale\n\n{} buyers at once, one unit each, of one product with {} units over {counters} stock \
         counters ({}, its low-stock threshold {threshold}): {placed} orders placed, {refused} `OUT_OF_STOCK`, \
         stock left {left} ({}).\n\n",
        settings.flash_buyers,
        settings.flash_stock,
        if settings.flash_counters > 0 {
            "set by an admin"
        } else {
            "spread by the shop at creation"
        },
        if exact { "exact" } else { "NOT EXACT" }
    );
    section += &partitions(&usage, placed as f64, "order");
    if !exact {
        return Err(format!("the flash sale was not exact: {section}").into());
    }
    Ok(section)
}

async fn flash_coupon(
    settings: &Settings,
    client: &Client,
    meter: &Meter,
    admin: &str,
    customers: &[String],
) -> Result<String, BoxError> {
    let stock = i64::try_from(settings.coupon_buyers).unwrap_or(i64::MAX) * 2;
    let product = add_product(client, admin, "coupon", stock).await?;
    let code = format!("FLASH-{}", fastrand::u32(..));
    let promotion = client
        .expect(
            Method::POST,
            "/promotions",
            Some(admin),
            Some(
                json!({"name": "Flash coupon", "code": code, "kind": "percent", "percent": "20",
                        "usage_limit": settings.coupon_limit}),
            ),
        )
        .await?;
    let id = promotion["id"].as_str().ok_or("no id")?.to_owned();
    // Every function instance knows the code once its copy of the
    // promotions is renewed (CONFIG_CACHE_SECONDS, as deployed), and by
    // then the earlier scenarios' unpaid orders have expired, leaving each
    // customer room for the orders below (at most three each).
    let wait = (settings.config_cache_secs + 2).max(settings.order_ttl_secs + 6);
    eprintln!("capacity: flash coupon: waiting {wait} s for the functions to know the code");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    meter.reset().await?;
    eprintln!(
        "capacity: flash coupon: {} buyers at once for a limit of {}",
        settings.coupon_buyers, settings.coupon_limit
    );
    let started = Instant::now();
    let attempts = (0..settings.coupon_buyers).map(|i| {
        let (product, code) = (product.as_str(), code.as_str());
        async move {
            client
                .send(
                    Method::POST,
                    "/orders",
                    Some(&customers[i % customers.len()]),
                    Some(json!({"items": [{"product_id": product, "quantity": 1}],
                                "shipping_address": address(), "coupon_codes": [code]})),
                )
                .await
        }
    });
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    let mut placed = 0;
    for reply in futures::future::join_all(attempts).await {
        if reply.status == StatusCode::CREATED {
            placed += usize::from(reply.body["discounts"].as_array().is_some_and(|d| d.len() == 1));
        }
        let answer = match reply.body["reason"].as_str() {
            Some(reason) => format!("{} {} ({reason})", reply.status.as_u16(), reply.code()),
            None => format!("{} {}", reply.status.as_u16(), reply.code()),
        };
        *answers.entry(answer).or_default() += 1;
    }
    let elapsed = started.elapsed();
    let usage = meter.read().await?;
    let used = client
        .expect(Method::GET, &format!("/promotions/{id}"), Some(admin), None)
        .await?["used"]
        .as_i64()
        .unwrap_or(-1);
    let limit = settings.coupon_limit as usize;
    let expected = limit.min(settings.coupon_buyers);
    let exact = placed == expected && used == expected as i64;
    eprintln!("capacity: flash coupon: {placed} placed in {elapsed:?}; used {used}; answers {answers:?}");
    let counters = shared::model::promotions::uses::counters_for(Some(settings.coupon_limit));
    let mut section = format!(
        "## Flash coupon\n\n{} buyers at once, one order each carrying one code limited to {} uses \
         (spread over {counters} use counters): {placed} orders placed with the discount, `used` {used} ({}). \
         Answers: {answers:?}.\n\n",
        settings.coupon_buyers,
        settings.coupon_limit,
        if exact { "exact" } else { "NOT EXACT" }
    );
    section += &partitions(&usage, placed as f64, "redemption");
    if !exact {
        return Err(format!("the flash coupon was not exact: {section}").into());
    }
    Ok(section)
}

/// UUIDs shortened, so partitions read as their kind.
fn short(partition: &str) -> String {
    partition
        .split('#')
        .map(|part| {
            if part.len() == 36 && part.chars().filter(|c| *c == '-').count() == 4 {
                format!("{}…", &part[..8])
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}

fn hottest(usage: &Usage, by: impl Fn(&Use) -> f64) -> Option<(String, Use)> {
    usage
        .iter()
        .max_by(|a, b| by(a.1).total_cmp(&by(b.1)))
        .map(|(p, u)| (p.clone(), *u))
}

/// The top partitions by WCU and by RCU per `unit`, with the rate of units
/// each allows under the per-partition limits.
fn partitions(usage: &Usage, units: f64, unit: &str) -> String {
    let mut out = String::new();
    let total: Use = usage.values().fold(Use::default(), |a, u| Use {
        wcu: a.wcu + u.wcu,
        rcu: a.rcu + u.rcu,
    });
    out += &format!(
        "All partitions: {:.1} WCU and {:.1} RCU per {unit}.\n\n",
        total.wcu / units,
        total.rcu / units
    );
    for (what, limit, by) in [
        ("WCU", 1000.0, (|u: &Use| u.wcu) as fn(&Use) -> f64),
        ("RCU", 3000.0, |u: &Use| u.rcu),
    ] {
        let mut ranked: Vec<(&String, &Use)> = usage.iter().filter(|(_, u)| by(u) > 0.0).collect();
        ranked.sort_by(|a, b| by(b.1).total_cmp(&by(a.1)));
        out += &format!(
            "| partition (top 5 by {what}) | {what} per {unit} | ceiling ({unit}s/s at {limit:.0} {what}/s) |\n| --- | --- | --- |\n"
        );
        for (partition, used) in ranked.iter().take(5) {
            let per = by(used) / units;
            out += &format!("| `{}` | {per:.3} | {:.0} |\n", short(partition), limit / per);
        }
        out += "\n";
    }
    // The ceiling is set by the hottest partition of either kind.
    let ceiling = usage
        .values()
        .flat_map(|u| [u.wcu / units / 1000.0, u.rcu / units / 3000.0])
        .fold(0.0_f64, f64::max);
    if ceiling > 0.0 {
        out += &format!("Implied ceiling: **{:.0} {unit}s/s**.\n\n", 1.0 / ceiling);
    }
    let by_kind = usage
        .iter()
        .fold(BTreeMap::<String, usize>::new(), |mut kinds, (p, _)| {
            *kinds
                .entry(p.split(' ').next().unwrap_or("?").to_owned())
                .or_default() += 1;
            kinds
        });
    out += &format!("Partitions touched: {by_kind:?}.\n\n");
    out
}

/// The words the back-office scenario's products are named and described
/// from: some in many products, some in few.
const VOCABULARY: [&str; 24] = [
    "enamel", "steel", "mug", "cup", "bowl", "plate", "blue", "green", "red", "camp", "kitchen", "glass",
    "oak", "linen", "wool", "lamp", "desk", "chair", "tea", "coffee", "travel", "small", "large", "classic",
];

async fn back_office(
    settings: &Settings,
    client: &Client,
    meter: &Meter,
    admin: &str,
) -> Result<String, BoxError> {
    let run = fastrand::u32(..);
    let token = format!("cap{run}");
    let mut rng = fastrand::Rng::new();
    let pick = |rng: &mut fastrand::Rng, n: usize| -> String {
        (0..n)
            .map(|_| VOCABULARY[rng.usize(..VOCABULARY.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let bodies: Vec<Value> = (0..settings.search_products)
        .map(|i| {
            json!({
                "name": format!("{} {token}", pick(&mut rng, 3)),
                "description": format!("{}. Item {i}.", pick(&mut rng, 12)),
                "category": format!("search-{}", i % 6),
                "price": 1_000 + i64::try_from(i).unwrap_or(0),
                "stock": 20,
            })
        })
        .collect();
    eprintln!("capacity: back office: adding {} products", bodies.len());
    let added: Vec<Result<Value, BoxError>> = futures::stream::iter(bodies)
        .map(|body| client.expect(Method::POST, "/products", Some(admin), Some(body)))
        .buffer_unordered(8)
        .collect()
        .await;
    for product in added {
        product?;
    }
    // The indexer follows the stream: wait until every product is found.
    let started = Instant::now();
    loop {
        let mut found = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/products?q={token}&limit=100&cursor={c}"),
                None => format!("/products?q={token}&limit=100"),
            };
            let page = client.expect(Method::GET, &path, None, None).await?;
            found += page["items"].as_array().map_or(0, Vec::len);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        if found >= settings.search_products {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!(
                "the index holds {found} of {} products after 2 minutes",
                settings.search_products
            )
            .into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut section = format!(
        "## Back office\n\n{} products named from {} words (3 in the name, 12 in the description, 6 categories), \
         indexed from the stream in {:?}.\n\n",
        settings.search_products,
        VOCABULARY.len(),
        started.elapsed()
    );

    let searches = 40;
    let mut matched = 0;
    meter.quiet().await?;
    meter.reset().await?;
    for i in 0..searches {
        let q = match i % 3 {
            0 => pick(&mut rng, 1),
            1 => pick(&mut rng, 2),
            // A whole word and a prefix of another.
            _ => {
                let prefix: String = VOCABULARY[rng.usize(..VOCABULARY.len())]
                    .chars()
                    .take(3)
                    .collect();
                format!("{} {prefix}", pick(&mut rng, 1))
            }
        };
        let page = client
            .expect(
                Method::GET,
                &format!("/products?q={}", q.replace(' ', "%20")),
                None,
                None,
            )
            .await?;
        matched += page["items"].as_array().map_or(0, Vec::len);
    }
    let usage = meter.read().await?;
    section += &format!(
        "### Search\n\n{searches} searches (one word, two words, a word and a prefix; first pages of 20): {matched} products answered.\n\n"
    );
    section += &partitions(&usage, f64::from(searches), "search request");

    let lookups = 20;
    meter.quiet().await?;
    meter.reset().await?;
    for _ in 0..lookups {
        client
            .expect(
                Method::GET,
                "/admin/orders?status=PAID&limit=20",
                Some(admin),
                None,
            )
            .await?;
    }
    let usage = meter.read().await?;
    section += &format!("### Order search\n\n{lookups} searches of the paid orders, first pages of 20.\n\n");
    section += &partitions(&usage, f64::from(lookups), "order lookup");

    let today = time::OffsetDateTime::now_utc().date();
    meter.quiet().await?;
    meter.reset().await?;
    for _ in 0..lookups {
        client
            .expect(
                Method::GET,
                &format!("/admin/reports/sales?from={today}&to={today}"),
                Some(admin),
                None,
            )
            .await?;
        client
            .expect(Method::GET, "/admin/customers?limit=20", Some(admin), None)
            .await?;
    }
    let usage = meter.read().await?;
    section += &format!(
        "### Sales report and customer list\n\n{lookups} reports of today and {lookups} first pages of 20 customers.\n\n"
    );
    section += &partitions(&usage, f64::from(lookups), "report and customer page");
    Ok(section)
}
