//! Test support: an isolated table and queues per integration test, and an
//! HTTP client for the end-to-end tests that drive the local gateway.
//!
//! Both need the local stack that `make test` starts: integration tests read
//! `AWS_ENDPOINT_URL` (the emulator), end-to-end tests `SHOP_API_URL` (the
//! gateway). Run through `make test`; a test run without them fails loudly.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::adapters::queue;
use shared::adapters::store;
use shared::foundation::secret::Secret;
use shared::model::messages::Message;
use shared::{App, Config};

pub use reqwest;
pub use serde_json;

/// A setting the test run must have.
pub fn require_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("{name} is not set: run the tests through `make test`, which starts the local stack")
        })
}

/// A name no other test uses (lower-case letters, digits and `-`, so it
/// also serves as a category).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// How many rounds each concurrency race runs; every round must be exact.
/// `RACE_ROUNDS` raises it for a deeper run (`RACE_ROUNDS=20 make test`).
pub fn race_rounds() -> usize {
    std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5)
}

/// The `Stripe-Signature` header Stripe would send with `body`, made by
/// the official `stripe` Python library (`scripts/stripe_sign.py`, one
/// process per test binary), so that the shop's verifier is checked against
/// Stripe's signing rather than against itself. `SHOP_TOOLS_PYTHON` names
/// the interpreter (default: the pinned tools' venv).
pub fn stripe_signature(secret: &str, body: &[u8]) -> String {
    stripe_signature_at(secret, body, None)
}

/// [`stripe_signature`] as made at `timestamp` (Unix seconds).
pub fn stripe_signature_at(secret: &str, body: &[u8], timestamp: Option<i64>) -> String {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
    use std::sync::{Mutex, OnceLock};

    struct Signer {
        _child: Child,
        input: ChildStdin,
        output: BufReader<ChildStdout>,
    }
    static SIGNER: OnceLock<Mutex<Signer>> = OnceLock::new();
    let signer = SIGNER.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let python =
            std::env::var("SHOP_TOOLS_PYTHON").unwrap_or_else(|_| format!("{root}/.tools/venv/bin/python"));
        let mut child = Command::new(&python)
            .arg(format!("{root}/scripts/stripe_sign.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("{python} (run scripts/bootstrap.sh): {err}"));
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Mutex::new(Signer {
            _child: child,
            input,
            output,
        })
    });
    let mut signer = signer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let payload = std::str::from_utf8(body).expect("a JSON body");
    let ask = json!({"secret": secret, "payload": payload, "timestamp": timestamp}).to_string();
    writeln!(signer.input, "{ask}").expect("to the signer");
    let mut header = String::new();
    signer.output.read_line(&mut header).expect("from the signer");
    assert!(header.starts_with("t="), "the signer answered {header:?}");
    header.trim_end().to_owned()
}

pub const TEST_JWT_SECRET: &str = "integration-tests-jwt-secret-0123456789abcdef";
pub const TEST_CURSOR_SECRET: &str = "integration-tests-cursor-secret-0123456789abc";

/// An [`App`] on a table and queues of its own, created in the emulator.
pub struct TestApp {
    pub app: App,
    pub sqs: aws_sdk_sqs::Client,
    pub queues: Vec<(queue::QueueSpec, queue::QueueUrls)>,
    settings: Vec<(String, String)>,
    aws: aws_config::SdkConfig,
}

pub const TEST_WEBHOOK_SECRET: &str = "whsec_integration_tests";
pub const TEST_CARRIER_SECRET: &str = "carrier_integration_tests_secret";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With some settings overridden (`("SHIPPING_QUEUE_URL", "...")`, ...).
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let aws = emulator_config().await;
        let table = unique("test");
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        store::create_table(&dynamodb, &table)
            .await
            .expect("create the test table");
        let sqs = aws_sdk_sqs::Client::new(&aws);
        // A short visibility timeout, so that retries and the DLQ show quickly.
        let queues = queue::create_queues(&sqs, &format!("{table}-"), Some(1))
            .await
            .expect("create the test queues");
        let mut settings: Vec<(String, String)> = vec![
            ("TABLE_NAME".into(), table.clone()),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            ("CURSOR_SECRET".into(), TEST_CURSOR_SECRET.into()),
            ("PAYMENT_WEBHOOK_SECRET".into(), TEST_WEBHOOK_SECRET.into()),
            ("CARRIER".into(), "sandbox".into()),
            ("CARRIER_WEBHOOK_SECRET".into(), TEST_CARRIER_SECRET.into()),
        ];
        for (spec, urls) in &queues {
            settings.push((spec.url_env.into(), urls.url.clone()));
        }
        for (name, value) in overrides {
            settings.retain(|(n, _)| n != name);
            settings.push(((*name).into(), (*value).into()));
        }
        Self {
            app: app(&settings, &aws),
            sqs,
            queues,
            settings,
            aws,
        }
    }

    /// Another app on the same table and queues, with some settings changed
    /// (a broken queue URL, another provider).
    pub fn reconfigured(&self, overrides: &[(&str, &str)]) -> App {
        let mut settings = self.settings.clone();
        for (name, value) in overrides {
            settings.retain(|(n, _)| n != name);
            settings.push(((*name).into(), (*value).into()));
        }
        app(&settings, &self.aws)
    }

    /// Another app on the same table and queues whose DynamoDB and SQS
    /// requests pass through a fault-injecting proxy; the test scripts its
    /// faults (`faults.script(...)`).
    pub async fn faulty(&self) -> (App, std::sync::Arc<stress::faults::Faults>) {
        let endpoint = require_env("AWS_ENDPOINT_URL");
        let proxy = stress::proxy::spawn(&endpoint, stress::proxy::Options::default())
            .await
            .expect("start the proxy");
        // A configuration without the environment's (whose
        // `AWS_ENDPOINT_URL` would win over the endpoint set here).
        let mut builder = aws_config::SdkConfig::builder()
            .endpoint_url(&proxy.url)
            .behavior_version(aws_config::BehaviorVersion::latest());
        builder.set_region(self.aws.region().cloned());
        builder.set_credentials_provider(self.aws.credentials_provider());
        builder.set_sleep_impl(self.aws.sleep_impl());
        builder.set_time_source(self.aws.time_source());
        builder.set_http_client(self.aws.http_client());
        let aws = builder.build();
        (app(&self.settings, &aws), proxy.faults)
    }

    /// Every message now on a queue (received with a long visibility timeout,
    /// so each is returned once), bodies parsed.
    pub async fn drain(&self, url: &str) -> Vec<(aws_sdk_sqs::types::Message, Result<Message, String>)> {
        let mut all = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                return all;
            }
            for message in received {
                let parsed = Message::parse(message.body.as_deref().unwrap_or_default());
                all.push((message, parsed));
            }
        }
    }

    /// The URLs of a queue and its DLQ.
    pub fn queue(&self, name: &str) -> &queue::QueueUrls {
        &self
            .queues
            .iter()
            .find(|(spec, _)| spec.name == name)
            .expect("a known queue")
            .1
    }

    pub fn secret(&self) -> Secret {
        Secret::new(TEST_JWT_SECRET)
    }
}

fn app(settings: &[(String, String)], aws: &aws_config::SdkConfig) -> App {
    let config = Config::from_lookup(|name| settings.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
        .expect("test configuration");
    App::new(config, aws).expect("test app")
}

/// The SDK configuration for the emulator that `make test` started
/// (`AWS_ENDPOINT_URL`).
pub async fn emulator_config() -> aws_config::SdkConfig {
    require_env("AWS_ENDPOINT_URL");
    shared::adapters::aws_config().expect("an HTTPS client")
}

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

    /// Registers a fresh customer and logs them in.
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
        assert_eq!(reply.status, StatusCode::CREATED, "register: {}", reply.text);
        let login = self.login(&email, &password).await;
        assert_eq!(login.status, StatusCode::OK, "login: {}", login.text);
        Customer {
            id: reply.body["id"].as_str().expect("id").to_owned(),
            email,
            password,
            token: login.body["access_token"].as_str().expect("token").to_owned(),
        }
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

    pub async fn product(&self, stock: i64) -> String {
        let reply = self
            .api
            .post(
                "/products",
                Some(&self.admin),
                json!({"name": "Tent", "category": unique("refund"), "price": 12_000, "stock": stock}),
            )
            .await;
        reply.body["id"].as_str().expect("product").to_owned()
    }

    pub async fn stock(&self, product: &str) -> i64 {
        self.api.get(&format!("/products/{product}"), None).await.body["stock"]
            .as_i64()
            .expect("stock")
    }

    pub async fn order(&self, product: &str, quantity: u32) -> String {
        let address =
            json!({"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "GB"});
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

    /// Delivers the provider's signed success of `payment` (a card paid it).
    pub async fn paid(&self, order: &str, payment: &Value) {
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_{}", unique("paid")), "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": payment["provider_payment_id"], "amount_received": payment["amount"],
                                "currency": "usd", "metadata": {"shop_order_id": order}}}
        }))
        .expect("json");
        let signature = stripe_signature(&require_env("PAYMENT_WEBHOOK_SECRET"), &body);
        let reply = self
            .api
            .read(
                self.api
                    .request(Method::POST, "/payments/webhook")
                    .header("content-type", "application/json")
                    .header("stripe-signature", signature)
                    .body(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    pub async fn status(&self, order: &str) -> Value {
        self.api
            .get(&format!("/orders/{order}"), Some(&self.customer.token))
            .await
            .body["status"]
            .clone()
    }

    /// An order paid, shipped by the worker and delivered by the carrier.
    pub async fn delivered(&self, product: &str) -> String {
        let order = self.order(product, 1).await;
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

    pub async fn until(&self, order: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.status(order).await != status {
            assert!(Instant::now() < deadline, "{order} never became {status}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// Principals and fixtures for the catalogue and orders.
pub mod fixtures {
    use super::TestApp;
    use serde_json::{Value, json};
    use shared::entry::worker::process_batch;
    use shared::foundation::clock::Deadline;
    use shared::foundation::input::parse_document;
    use shared::model::auth::{Admin, Principal, Role};
    use shared::model::messages::Message;
    use shared::model::orders::{NewOrder, Order, OrderId};
    use shared::model::products::Product;
    use shared::model::users::UserId;
    use shared::usecases::payments::WebhookOutcome;
    use shared::usecases::products;

    pub fn customer() -> Principal {
        Principal {
            user_id: UserId::new(),
            role: Role::Customer,
        }
    }

    pub fn admin() -> Admin {
        Principal {
            user_id: UserId::new(),
            role: Role::Admin,
        }
        .into_admin()
        .expect("an admin")
    }

    /// A signed `payment_intent.succeeded` delivery: (signature header, body).
    pub fn payment_succeeded(
        secret: &str,
        intent: &str,
        order: &Order,
        amount: i64,
        currency: &str,
    ) -> (String, Vec<u8>) {
        provider_event(
            secret,
            &format!("evt_{}", uuid::Uuid::now_v7().simple()),
            "payment_intent.succeeded",
            json!({
                "id": intent, "object": "payment_intent", "amount": amount, "amount_received": amount,
                "currency": currency, "status": "succeeded", "metadata": {"shop_order_id": order.id.to_string()},
                "livemode": false, "latest_charge": "ch_123"
            }),
        )
    }

    /// A signed delivery of Stripe's event `id` of type `kind` about
    /// `object`, in Stripe's event shape: (signature header, body).
    pub fn provider_event(secret: &str, id: &str, kind: &str, object: Value) -> (String, Vec<u8>) {
        let body = serde_json::to_vec(&json!({
            "id": id, "object": "event", "api_version": "2024-06-20",
            "created": time::OffsetDateTime::now_utc().unix_timestamp(),
            "livemode": false, "pending_webhooks": 1, "type": kind,
            "data": {"object": object}
        }))
        .expect("json");
        let header = super::stripe_signature(secret, &body);
        (header, body)
    }

    pub fn address() -> Value {
        json!({"name": "Ann Smith", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"})
    }

    impl TestApp {
        pub async fn product(&self, category: &str, price: i64, stock: i64) -> Product {
            let input = parse_document(json!({"name": format!("{category} thing"), "category": category, "price": price, "stock": stock}))
                .expect("valid product");
            products::create_product(&self.app, &admin(), input)
                .await
                .expect("created")
        }

        pub async fn stock(&self, product: &Product) -> i64 {
            self.app
                .store
                .get_product(&product.id)
                .await
                .expect("read")
                .map_or(-1, |p| p.stock)
        }

        /// An order paid through the webhook; its `payment_confirmed` is on
        /// the shipping queue.
        pub async fn paid_order(&self, buyer: &Principal, lines: &[(&Product, u32)]) -> Order {
            let order = self.order(buyer, lines).await.expect("placed");
            self.pay(buyer, &order).await;
            order
        }

        /// An order paid, shipped by the worker and delivered: the buyer may
        /// now review its products.
        pub async fn delivered_order(&self, buyer: &Principal, lines: &[(&Product, u32)]) -> Order {
            let order = self.paid_order(buyer, lines).await;
            let shipped = self
                .deliver("shipping", shared::usecases::shipping::handle_message)
                .await;
            assert!(shipped.batch_item_failures.is_empty(), "shipped");
            let delivered = parse_document(json!({"status": "DELIVERED"})).expect("valid");
            shared::usecases::shipping::add_event(
                &self.app,
                &admin(),
                &shared::model::shipping::ShipmentId::for_order(&order.id),
                delivered,
            )
            .await
            .expect("delivered");
            order
        }

        /// A registered customer (reviews carry the author's name).
        pub async fn registered(&self, name: &str) -> Principal {
            let input = parse_document(json!({
                "email": format!("{}@example.com", super::unique("reviewer")),
                "password": "correct horse battery", "name": name
            }))
            .expect("valid");
            // An address of its own: sign-ups are limited per address.
            let from = shared::model::users::ClientAddress::parse(Some(&format!(
                "198.18.{}.{}",
                fastrand::u8(..),
                fastrand::u8(1..255)
            )));
            let user = shared::usecases::users::register(&self.app, input, &from)
                .await
                .expect("registered");
            Principal {
                user_id: user.id,
                role: user.role,
            }
        }

        /// Starts the order's payment (unless it was started before) and
        /// delivers a signed success for it.
        pub async fn pay(&self, buyer: &Principal, order: &Order) -> WebhookOutcome {
            let payment = match self.app.store.get_payment(&order.id).await.expect("read") {
                Some(started) => started.payment,
                None => shared::usecases::payments::start_payment(&self.app, buyer, &order.id)
                    .await
                    .expect("payment started")
                    .into_payment(),
            };
            let (header, body) = payment_succeeded(
                super::TEST_WEBHOOK_SECRET,
                &payment.provider_payment_id,
                order,
                order.total.minor(),
                "usd",
            );
            shared::usecases::payments::handle_webhook(&self.app, Some(&header), &body)
                .await
                .expect("webhook handled")
        }

        /// Lambda's poller, once: every message now on the queue `name` in one
        /// batch to `handler`; what succeeded is deleted, failures stay.
        pub async fn deliver<'a, F, Fut, R>(
            &'a self,
            name: &str,
            handler: F,
        ) -> aws_lambda_events::sqs::SqsBatchResponse
        where
            F: Fn(&'a shared::App, Message) -> Fut,
            Fut: std::future::Future<Output = Result<R, shared::Error>>,
            R: std::fmt::Debug,
        {
            let url = self.queue(name).url.clone();
            let received = self.drain(&url).await;
            let mut event = aws_lambda_events::sqs::SqsEvent::default();
            for (message, _) in &received {
                let mut record = aws_lambda_events::sqs::SqsMessage::default();
                record.message_id = message.message_id.clone();
                record.body = message.body.clone();
                event.records.push(record);
            }
            let response = process_batch(
                &self.app,
                event,
                Deadline::after(std::time::Duration::from_secs(60)),
                handler,
            )
            .await;
            let failed: Vec<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            for (message, _) in received {
                if !failed.contains(&message.message_id.as_deref().unwrap_or_default()) {
                    self.sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle.unwrap_or_default())
                        .send()
                        .await
                        .expect("delete");
                } else {
                    // Back on the queue at once, as after a visibility timeout.
                    self.sqs
                        .change_message_visibility()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle.unwrap_or_default())
                        .visibility_timeout(0)
                        .send()
                        .await
                        .expect("release");
                }
            }
            response
        }

        /// Places an order (the request is built now; the future borrows only
        /// the app and the caller).
        pub fn order<'a>(
            &'a self,
            caller: &'a Principal,
            lines: &[(&Product, u32)],
        ) -> impl std::future::Future<Output = Result<Order, shared::Error>> + use<'a> {
            let items: Vec<Value> = lines
                .iter()
                .map(|(p, q)| json!({"product_id": p.id.to_string(), "quantity": q}))
                .collect();
            let input: NewOrder =
                parse_document(json!({"items": items, "shipping_address": address()})).expect("valid order");
            shared::usecases::orders::place_order(&self.app, caller, input, OrderId::new())
        }
    }
}

/// A local stand-in for a third-party HTTP API (the payment provider): it
/// records every request and answers from a script.
pub mod stub {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tokio::net::TcpListener;

    /// One request as the stub saw it.
    #[derive(Debug, Clone)]
    pub struct Seen {
        pub method: String,
        pub path: String,
        pub headers: hyper::HeaderMap,
        pub body: String,
    }

    impl Seen {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|v| v.to_str().ok())
        }

        /// The form-encoded body as pairs.
        pub fn form(&self) -> Vec<(String, String)> {
            form_urlencoded::parse(self.body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        }
    }

    #[derive(Clone)]
    pub struct Stub {
        pub url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
        script: Arc<Mutex<VecDeque<(u16, String)>>>,
    }

    impl Stub {
        /// Serves on 127.0.0.1 (a free port) until the test ends.
        pub async fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("address"));
            let stub = Self {
                url,
                seen: Arc::default(),
                script: Arc::default(),
            };
            let server = stub.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let stub = server.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<Incoming>| {
                            let stub = stub.clone();
                            async move { Ok::<_, Infallible>(stub.answer(request).await) }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            stub
        }

        /// Queues the next answer (status, JSON body).
        pub fn respond(&self, status: u16, body: serde_json::Value) {
            self.script
                .lock()
                .expect("lock")
                .push_back((status, body.to_string()));
        }

        pub fn seen(&self) -> Vec<Seen> {
            self.seen.lock().expect("lock").clone()
        }

        async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            self.seen.lock().expect("lock").push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let (status, body) = self
                .script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((500, "{\"error\":{\"message\":\"no scripted answer\"}}".into()));
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
            response.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}

/// The headers that sign a request to an AWS API with SigV4, with the
/// credentials and region of the environment.
pub fn sigv4(service: &str, method: &str, url: &str, body: &[u8]) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        require_env("AWS_ACCESS_KEY_ID"),
        require_env("AWS_SECRET_ACCESS_KEY"),
        std::env::var("AWS_SESSION_TOKEN").ok().filter(|t| !t.is_empty()),
        None,
        "environment",
    )
    .into();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let request = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .expect("a signable request");
    let (instructions, _) = sign(request, &params).expect("signed").into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .map(|header| (header.name().to_owned(), header.value().to_owned()))
        .collect()
}
