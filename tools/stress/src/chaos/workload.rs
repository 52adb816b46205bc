//! The workload of `make chaos`: customers' journeys (order, directly or
//! through the cart, with or without a coupon, pay, cancel,
//! expire, pay late, refund, deliver, return, review) and an admin's
//! restocks, through the gateway, with what their answers told kept in a
//! book for the invariants.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::BoxError;
use shared::adapters::payments::webhook;
use shared::foundation::secret::Secret;
use stress::faults::Mode;

use super::Settings;
use crate::client::Client;

/// What the workload knows: what it did, as the answers told it.
#[derive(Default)]
pub struct Book {
    /// Idempotency-Key of `POST /orders` or `POST /cart/checkout` → the
    /// order ids its 201s named.
    pub order_keys: BTreeMap<String, BTreeSet<String>>,
    /// Order id → its owner's user id.
    pub owners: HashMap<String, String>,
    /// Product → units added by restocks that were answered 200.
    pub restocked: BTreeMap<String, i64>,
    /// Restocks whose outcome the client never learnt (gave up).
    pub restocks_unknown: u64,
    /// Webhook deliveries that never got a 2xx.
    pub undelivered: u64,
    /// Actions answered something the contract does not allow for them.
    pub surprises: Vec<String>,
}

pub struct Run {
    pub client: Client,
    pub settings: Settings,
    pub secret: Secret,
    pub admin: String,
    pub customers: Vec<(String, String)>,
    pub products: Vec<String>,
    /// A coupon half the orders carry.
    pub coupon: String,
    pub ops: AtomicU64,
    pub book: Mutex<Book>,
    pub http: reqwest::Client,
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

    /// Puts `items` in the customer's cart, sends it to `address` and reads
    /// it: the total a checkout expects, or `None` when the cart could not
    /// be filled as the contract allows (a product gone, too many units).
    async fn fill_cart(&self, token: &str, items: &[Value], address: Value, codes: &[String]) -> Option<i64> {
        for item in items {
            let product = item["product_id"].as_str().unwrap_or_default();
            let put = self
                .call(
                    Method::PUT,
                    &format!("/cart/items/{product}"),
                    token,
                    Some(json!({ "quantity": item["quantity"] })),
                    None,
                )
                .await;
            match (put.status, put.code()) {
                (StatusCode::OK, _) => {}
                (StatusCode::CONFLICT, "PRODUCT_UNAVAILABLE" | "QUANTITY_LIMIT" | "CART_FULL") => {
                    return None;
                }
                _ => {
                    self.surprise(format!("cart line: {} {}", put.status, put.body));
                    return None;
                }
            }
        }
        let moved = self
            .call(
                Method::PATCH,
                "/cart",
                token,
                Some(json!({ "shipping_address": address, "coupon_codes": codes })),
                None,
            )
            .await;
        if moved.code() == "COUPON_NOT_APPLICABLE" {
            return None;
        }
        if moved.status != StatusCode::OK {
            self.surprise(format!("cart address: {} {}", moved.status, moved.body));
            return None;
        }
        let cart = self.call(Method::GET, "/cart", token, None, None).await;
        if cart.status != StatusCode::OK {
            self.surprise(format!("cart: {} {}", cart.status, cart.body));
            return None;
        }
        cart.body["total"].as_i64()
    }

    async fn status(&self, token: &str, order: &str) -> String {
        let reply = self
            .client
            .send(Method::GET, &format!("/orders/{order}"), Some(token), None)
            .await;
        reply.body["status"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn journey(self: Arc<Self>, n: u64) {
        let mut rng = fastrand::Rng::with_seed(self.settings.seed.wrapping_mul(1_000_003).wrapping_add(n));
        let (user, token) = self.customers[rng.usize(..self.customers.len())].clone();
        if rng.u8(0..20) == 0 {
            return self.restock(&mut rng).await;
        }
        if rng.u8(0..50) == 0 {
            return self.stray_payment(&mut rng).await;
        }
        if rng.u8(0..40) == 0 {
            return self.back_office().await;
        }
        let mut chosen = BTreeSet::new();
        for _ in 0..rng.usize(1..=3) {
            chosen.insert(self.products[rng.usize(..self.products.len())].clone());
        }
        let items: Vec<Value> = chosen
            .iter()
            .map(|p| json!({"product_id": p, "quantity": rng.u32(1..=3)}))
            .collect();
        // Half the orders carry the coupon; every order may get the
        // automatic promotion while it has uses left.
        let codes: Vec<String> = if rng.bool() {
            vec![self.coupon.clone()]
        } else {
            Vec::new()
        };
        let body = json!({"items": items, "coupon_codes": codes, "shipping_address": {
            "name": "Chaos Customer", "line1": "1 Fault Street", "city": "Springfield",
            "postal_code": "12345", "region": "US-NY", "country": "US"}});
        let key = (rng.u8(0..10) < 7).then(|| format!("chaos-{}-{n}", self.settings.seed));
        // A third of the orders go through the customer's cart (which other
        // journeys of the same customer may be filling or checking out at
        // the same time).
        let (path, body) = if rng.u8(0..3) == 0 {
            match self
                .fill_cart(&token, &items, body["shipping_address"].clone(), &codes)
                .await
            {
                Some(expected) => ("/cart/checkout", json!({ "expected_total": expected })),
                None => return,
            }
        } else {
            ("/orders", body)
        };
        let placed = self
            .call(Method::POST, path, &token, Some(body.clone()), key.as_deref())
            .await;
        if placed.status != StatusCode::CREATED {
            if !matches!(
                placed.code(),
                "OUT_OF_STOCK"
                    | "PRODUCT_UNAVAILABLE"
                    | "TOO_MANY_UNPAID_ORDERS"
                    | "CART_EMPTY"
                    | "PRICE_CHANGED"
                    | "QUANTITY_LIMIT"
                    | "COUPON_NOT_APPLICABLE"
                    // A discount can take a cheap order below the
                    // provider's minimum charge.
                    | "AMOUNT_OUT_OF_RANGE"
            ) {
                self.surprise(format!("{path}: {} {}", placed.status, placed.body));
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
            let again = self.call(Method::POST, path, &token, Some(body), Some(key)).await;
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

    /// An admin reads the back office under the same faults (today's
    /// sales figures, the paid orders, a customer list) and a shopper
    /// searches the catalogue.
    async fn back_office(&self) {
        let today = time::OffsetDateTime::now_utc().date();
        let yesterday = today.previous_day().unwrap_or(today);
        let reads = [
            format!("/admin/reports/sales?from={yesterday}&to={today}"),
            "/admin/orders?status=PAID&limit=50".to_owned(),
            "/admin/customers?limit=10".to_owned(),
            "/products?q=chaos%20prod".to_owned(),
        ];
        for path in reads {
            let reply = self.call(Method::GET, &path, &self.admin, None, None).await;
            if reply.status != StatusCode::OK && !reply.status.is_server_error() {
                self.surprise(format!("{path}: {} {}", reply.status, reply.body));
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

pub async fn set_faults(http: &reqwest::Client, url: &str, mode: Mode) -> Result<(), BoxError> {
    http.put(format!("{url}/_faults"))
        .json(&mode)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
