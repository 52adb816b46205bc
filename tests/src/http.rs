//! The HTTP client of the end-to-end tests: the shop's API through the
//! local gateway (or a deployed stack's API Gateway), and the cast of a
//! journey.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{require_env, sigv4, stripe_signature, unique};

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a `200`.
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(self.body["status"], status, "{}", self.text);
    }

    /// The fields named by a `VALIDATION_FAILED` answer.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A client of the shop's HTTP API through the local gateway.
#[derive(Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

/// A registered and logged-in user.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

impl Api {
    /// A new product, created by `admin` through `POST /products` (asserted
    /// `201`): its body.
    pub async fn product(&self, admin: &str, category: &str, price: i64, stock: i64) -> Value {
        let reply = self
            .post(
                "/products",
                Some(admin),
                json!({"name": "Enamel mug", "description": "350 ml", "category": category, "price": price, "stock": stock}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body
    }

    /// A new admin, made by the operator tool, logged in; returns the token.
    pub async fn admin(&self) -> String {
        let email = format!("{}@example.com", unique("admin"));
        let output = std::process::Command::new(require_env("SHOPCTL"))
            .args(["--env-file", "none", "create-admin", "--email", &email])
            .args(["--password", "admin password 123", "--name", "Admin"])
            .output()
            .expect("run shopctl");
        assert!(
            output.status.success(),
            "shopctl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let login = self.login(&email, "admin password 123").await;
        assert_eq!(login.status, StatusCode::OK, "admin login: {}", login.text);
        login.body["access_token"].as_str().expect("token").to_owned()
    }

    pub fn from_env() -> Self {
        Self {
            base: require_env("SHOP_API_URL"),
            client: shared::adapters::http_client().build().expect("an HTTP client"),
        }
    }

    /// Lets the scheduled functions run now. Through the local gateway they
    /// tick by themselves (`SCHEDULE_INTERVAL_SECONDS`); a deployed stack's
    /// rules fire once a minute at best, so there (`make test-deployed`)
    /// each function in `SHOP_SCHEDULED_FUNCTIONS` is invoked through the
    /// Lambda API of `AWS_ENDPOINT_URL` with the scheduled event.
    pub async fn run_schedules(&self) {
        let Ok(functions) = std::env::var("SHOP_SCHEDULED_FUNCTIONS") else {
            return;
        };
        let endpoint = require_env("AWS_ENDPOINT_URL");
        let event = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/orders-expire.json"
        ))
        .expect("events/orders-expire.json");
        for function in functions.split(',').filter(|f| !f.is_empty()) {
            let url = format!(
                "{}/2015-03-31/functions/{function}/invocations",
                endpoint.trim_end_matches('/')
            );
            // Signed: the deployed emulator enforces IAM (the root
            // credentials of the test environment may invoke anything).
            let mut request = self.client.post(&url).body(event.clone());
            for (name, value) in sigv4("lambda", "POST", &url, &event) {
                request = request.header(name, value);
            }
            let reply = request.send().await.expect("invoke");
            assert!(
                reply.status().is_success(),
                "invoking {function}: {}",
                reply.status()
            );
        }
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.read(request).await
    }

    /// Sends a prepared request (for odd headers and bodies).
    pub async fn read(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the gateway answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/auth/login", None, json!({"email": email, "password": password}))
            .await
    }

    /// Registers a fresh customer, verifies their email with the link the
    /// shop emailed, and logs them in.
    pub async fn customer(&self) -> Customer {
        let email = format!("{}@example.com", unique("customer"));
        let password = "correct horse battery staple".to_owned();
        let reply = self
            .post(
                "/auth/register",
                None,
                json!({"email": email, "password": password, "name": "Test Customer"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "register: {}", reply.text);
        self.verify(&email).await;
        let login = self.login(&email, &password).await;
        assert_eq!(login.status, StatusCode::OK, "login: {}", login.text);
        Customer {
            id: login.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            password,
            token: login.body["access_token"].as_str().expect("token").to_owned(),
        }
    }

    /// Verifies `email`'s account with the token of the verification email
    /// the shop sent it (`POST /auth/verify`, asserted `200`).
    pub async fn verify(&self, email: &str) {
        let token = self.emailed_token(email, "Confirm your email address").await;
        let verified = self.post("/auth/verify", None, json!({"token": token})).await;
        assert_eq!(verified.status, StatusCode::OK, "verify: {}", verified.text);
        assert_eq!(verified.body["verified"], true);
    }

    /// Every email the shop sent to `to`, as the emulator's SES lists them
    /// (`GET <AWS_ENDPOINT_URL>/_ministack/ses/messages`), oldest first.
    pub async fn emails_to(&self, to: &str) -> Vec<Value> {
        crate::outbox::sent_emails(&self.client, to).await
    }

    /// The newest email to `to` with `subject`, waiting up to 30 s for the
    /// notifier (it reads the table's stream) to send it.
    pub async fn email(&self, to: &str, subject: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            if let Some(found) = self
                .emails_to(to)
                .await
                .into_iter()
                .rev()
                .find(|m| m["Subject"] == subject)
            {
                return found;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "no email {subject:?} to {to} within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// The token of the newest email to `to` with `subject` (its link's
    /// `?token=`), waiting for it as [`Self::email`] does.
    pub async fn emailed_token(&self, to: &str, subject: &str) -> String {
        let email = self.email(to, subject).await;
        let text = email["BodyText"].as_str().unwrap_or_default();
        let start = text.find("?token=").map(|at| at + "?token=".len());
        start
            .and_then(|start| text.get(start..start + 43))
            .unwrap_or_else(|| panic!("no token in {email}"))
            .to_owned()
    }
}

/// A shop's cast for end-to-end journeys: an admin, a customer, and the
/// steps every journey takes.
pub struct Shop {
    pub api: Api,
    pub admin: String,
    pub customer: Customer,
}

impl Shop {
    pub async fn new() -> Self {
        let api = Api::from_env();
        let admin = api.admin().await;
        let customer = api.customer().await;
        Self { api, admin, customer }
    }

    /// The admin's `PUT` of `body` at `path` (a market, tax rates, a duty
    /// rule): its answer. A market whose country a fuzzing run gave to a
    /// market of its own (a deployed stack keeps them) makes that market go
    /// first.
    pub async fn admin_put(&self, path: &str, body: Value) -> Value {
        let put = || {
            self.api
                .send(Method::PUT, path, Some(&self.admin), Some(body.clone()))
        };
        let mut reply = put().await;
        if reply.status == StatusCode::CONFLICT {
            let holder = reply.body["market"].as_str().expect("the holder").to_owned();
            let gone = self
                .api
                .send(
                    Method::DELETE,
                    &format!("/markets/{holder}"),
                    Some(&self.admin),
                    None,
                )
                .await;
            assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
            reply = put().await;
        }
        assert!(reply.status.is_success(), "{path}: {}", reply.text);
        reply.body
    }

    /// A new product of the admin's (12,000 minor units): its id.
    pub async fn product(&self, stock: i64) -> String {
        let product = self
            .api
            .product(&self.admin, &unique("shop"), 12_000, stock)
            .await;
        product["id"].as_str().expect("product").to_owned()
    }

    pub async fn stock(&self, product: &str) -> i64 {
        self.api.get(&format!("/products/{product}"), None).await.body["stock"]
            .as_i64()
            .expect("stock")
    }

    pub async fn order(&self, product: &str, quantity: u32) -> String {
        let address = json!({"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "SW1A 1AA", "country": "GB"});
        let reply = self
            .api
            .post(
                "/orders",
                Some(&self.customer.token),
                json!({"items": [{"product_id": product, "quantity": quantity}], "shipping_address": address}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_str().expect("order").to_owned()
    }

    /// Starts the payment and delivers the provider's signed success.
    pub async fn pay(&self, order: &str) {
        let payment = self.start_payment(order).await;
        self.paid(order, &payment).await;
    }

    /// Starts the order's payment: the payment.
    pub async fn start_payment(&self, order: &str) -> Value {
        let reply = self
            .api
            .post(
                &format!("/orders/{order}/payment"),
                Some(&self.customer.token),
                json!({}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
        reply.body
    }

    /// Delivers the provider's signed success of `payment` (a card paid
    /// it), its amount in the provider's units.
    pub async fn paid(&self, order: &str, payment: &Value) {
        let currency = payment["currency"].as_str().expect("currency");
        let amount = payment["amount"].as_i64().expect("amount");
        let units = shared::foundation::money::Currency::parse(currency.to_owned())
            .ok()
            .and_then(|c| shared::foundation::money::Money::new(amount).ok()?.of(c).ok())
            .and_then(|total| shared::model::charges::provider_units(total).ok())
            .expect("an amount the provider takes");
        self.paid_units(order, payment, units, &currency.to_ascii_lowercase())
            .await
            .assert_ok();
    }

    /// Delivers the provider's signed success of `payment` for `units` of
    /// `currency` (as Stripe writes it, lower case): the webhook's answer.
    pub async fn paid_units(&self, order: &str, payment: &Value, units: i64, currency: &str) -> Reply {
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_{}", unique("paid")), "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": payment["provider_payment_id"], "amount_received": units,
                                "currency": currency, "metadata": {"shop_order_id": order}}}
        }))
        .expect("json");
        let signature = stripe_signature(&require_env("PAYMENT_WEBHOOK_SECRET"), &body);
        self.api
            .read(
                self.api
                    .request(Method::POST, "/payments/webhook")
                    .header("content-type", "application/json")
                    .header("stripe-signature", signature)
                    .body(body),
            )
            .await
    }

    pub async fn status(&self, order: &str) -> Value {
        self.api
            .get(&format!("/orders/{order}"), Some(&self.customer.token))
            .await
            .body["status"]
            .clone()
    }

    /// An order of one unit paid, shipped by the worker and delivered by
    /// the carrier.
    pub async fn delivered(&self, product: &str) -> String {
        self.delivered_order(product, 1).await
    }

    /// An order of `quantity` units paid, shipped and delivered.
    pub async fn delivered_order(&self, product: &str, quantity: u32) -> String {
        let order = self.order(product, quantity).await;
        self.pay(&order).await;
        self.until(&order, "SHIPPED").await;
        let shipment = self
            .api
            .get(&format!("/orders/{order}/shipment"), Some(&self.admin))
            .await
            .body;
        let events = format!(
            "/shipments/{}/events",
            shipment["id"].as_str().expect("shipment id")
        );
        let delivered = self
            .api
            .post(&events, Some(&self.admin), json!({"status": "DELIVERED"}))
            .await;
        assert_eq!(delivered.status, StatusCode::CREATED, "{}", delivered.text);
        order
    }

    /// `POST /orders/{order}/{action}` (`refund`, `cancel`, `return`,
    /// `return/receive`) with an empty body, as the holder of `token`.
    pub async fn act(&self, order: &str, action: &str, token: &str) -> Reply {
        self.api
            .post(&format!("/orders/{order}/{action}"), Some(token), json!({}))
            .await
    }

    pub async fn until(&self, order: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.status(order).await != status {
            assert!(Instant::now() < deadline, "{order} never became {status}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}
