//! `shopctl`: the shop's operator tool.
//!
//! It reads the same settings as the functions. Unless `--env-file none` is
//! given, the repository's `local.env` fills in what the environment leaves
//! unset, and a missing `AWS_ENDPOINT_URL` means the local emulator, so that
//! it works against `make dev` with no set-up.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use clap::{Parser, Subcommand};
use shared::BoxError;
use shared::adapters::payments::webhook;
use shared::adapters::queue;
use shared::adapters::store::{self, Store};
use shared::foundation::clock::Timestamp;
use shared::foundation::input::parse_document;
use shared::foundation::money::Currency;
use shared::foundation::secret::Secret;
use shared::model::auth::Role;
use shared::model::orders::OrderId;
use shared::usecases::{products, refunds, users};

/// name, description, category, price (minor units), stock
const DEMO_CATALOGUE: [(&str, &str, &str, i64, i64); 8] = [
    (
        "Enamel mug",
        "A 350 ml camp mug that survives the dishwasher.",
        "kitchen",
        1_450,
        120,
    ),
    (
        "Pour-over kettle",
        "Gooseneck, 1 l, for slow coffee.",
        "kitchen",
        4_900,
        25,
    ),
    (
        "Linen apron",
        "Stonewashed linen, two pockets.",
        "kitchen",
        3_200,
        40,
    ),
    ("Trail socks", "Merino blend, pack of two.", "outdoor", 1_900, 200),
    (
        "Headlamp",
        "300 lumens, USB-C rechargeable.",
        "outdoor",
        3_500,
        60,
    ),
    ("Dry bag 10 l", "Roll-top, welded seams.", "outdoor", 2_400, 80),
    (
        "Notebook A5",
        "Dotted, 192 pages, lies flat.",
        "stationery",
        1_600,
        150,
    ),
    (
        "Fountain pen",
        "Steel nib, converter included.",
        "stationery",
        5_800,
        15,
    ),
];

#[derive(Parser)]
#[command(
    version,
    about = "Operate the shop: set up the table and queues, create admins, seed a demo catalogue, pay in the sandbox, look after DLQs"
)]
struct Cli {
    /// File of default settings (KEY=VALUE lines); `none` to read only the environment.
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../local.env"))]
    env_file: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the queues (with DLQs) if they are missing, and
    /// print the queue URLs as KEY=VALUE lines.
    Setup,
    /// Load a small demo catalogue (only into an empty one) and print it.
    SeedCatalog,
    /// Pay an order in the sandbox: sign a `payment_intent.succeeded` event
    /// for its payment and post it to the local webhook.
    Pay {
        order_id: String,
        /// The webhook to post to (default: SHOP_API_URL's, else the local
        /// gateway's on API_PORT).
        #[arg(long)]
        url: Option<String>,
    },
    /// Look at or replay a queue's dead letters.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Refunds the payment provider refused for good (the alarm
    /// `RefusedRefundsAlarm` counts them).
    Refunds {
        #[command(subcommand)]
        action: RefundAction,
    },
    /// Print the disputed orders, newest first, as JSON lines: order and
    /// the dispute (id, reason, status, opened_at). While a dispute is not
    /// won, an order not yet shipped is held.
    Disputes,
    /// Create an admin account and print it as JSON.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// Print the messages in the queue's DLQ as JSON, without consuming them.
    List { queue: QueueName },
    /// Move every message of the queue's DLQ back to the queue.
    Redrive { queue: QueueName },
}

#[derive(Subcommand)]
enum RefundAction {
    /// Print the refused refunds, newest first, as JSON lines: order,
    /// payment, amount and the provider's reason.
    Refused,
    /// Try one again: it goes back to the refunds queue (with the provider
    /// configured as for the functions: PAYMENT_PROVIDER, STRIPE_API_KEY).
    Retry { order_id: String },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum QueueName {
    Shipping,
    Refunds,
}

impl QueueName {
    fn spec(self) -> queue::QueueSpec {
        let name = match self {
            Self::Shipping => "shipping",
            Self::Refunds => "refunds",
        };
        queue::QUEUES
            .into_iter()
            .find(|spec| spec.name == name)
            .unwrap_or(queue::QUEUES[0])
    }
}

/// The environment, with the defaults file beneath it.
struct Settings(HashMap<String, String>);

impl Settings {
    fn load(env_file: &str) -> Result<Self, BoxError> {
        let mut values = HashMap::new();
        if env_file != "none" {
            let path = PathBuf::from(env_file);
            let text = std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            for line in text.lines().map(str::trim) {
                if let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                    values.insert(key.trim().to_owned(), value.trim().to_owned());
                }
            }
            if std::env::var_os("AWS_ENDPOINT_URL").is_none()
                && let Some(port) = values.get("EMULATOR_PORT")
            {
                values.insert("AWS_ENDPOINT_URL".into(), format!("http://127.0.0.1:{port}"));
            }
        }
        values.extend(std::env::vars());
        Ok(Self(values))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn require(&self, key: &str) -> Result<&str, BoxError> {
        self.get(key).ok_or_else(|| format!("{key} is not set").into())
    }

    async fn aws(&self) -> aws_config::SdkConfig {
        let mut loader = shared::adapters::aws_defaults().expect("an HTTPS client");
        if let Some(endpoint) = self.get("AWS_ENDPOINT_URL") {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = self.get("AWS_REGION") {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        if let (Some(id), Some(secret)) = (self.get("AWS_ACCESS_KEY_ID"), self.get("AWS_SECRET_ACCESS_KEY")) {
            let credentials = aws_sdk_dynamodb::config::Credentials::new(id, secret, None, None, "shopctl");
            loader = loader.credentials_provider(credentials);
        }
        loader.load().await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("shopctl: {err}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    let settings = Settings::load(&cli.env_file)?;
    let aws = settings.aws().await;
    let table = || settings.require("TABLE_NAME");
    match cli.command {
        Command::Setup => {
            let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
            let exists = dynamodb
                .describe_table()
                .table_name(table()?)
                .send()
                .await
                .is_ok();
            if !exists {
                store::create_table(&dynamodb, table()?).await?;
            }
            let sqs = aws_sdk_sqs::Client::new(&aws);
            let prefix = settings.get("QUEUE_PREFIX").unwrap_or_default();
            let visibility = settings
                .get("QUEUE_VISIBILITY_TIMEOUT_SECONDS")
                .map(str::parse::<u32>)
                .transpose()
                .map_err(|_| "QUEUE_VISIBILITY_TIMEOUT_SECONDS is not a number")?;
            for (spec, urls) in queue::create_queues(&sqs, prefix, visibility).await? {
                println!("{}={}", spec.url_env, urls.url);
            }
        }
        Command::SeedCatalog => {
            let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table()?);
            let currency = Currency::parse(settings.get("STORE_CURRENCY").unwrap_or("USD").to_owned())?;
            // Any key will do for a one-item peek; the cursor is not used.
            let peek = store
                .list_products(&Secret::new("x".repeat(32)), None, 1, None)
                .await?;
            if !peek.items.is_empty() {
                return Err("the catalogue is not empty; seed-catalog only fills an empty one".into());
            }
            let mut added = Vec::new();
            for (name, description, category, price, stock) in DEMO_CATALOGUE {
                let input = parse_document(serde_json::json!({
                    "name": name, "description": description, "category": category, "price": price, "stock": stock
                }))
                .map_err(|err| err.to_string())?;
                added.push(products::add_product(&store, input, &currency).await?);
            }
            println!("{}", serde_json::to_string_pretty(&added)?);
        }
        Command::Pay { order_id, url } => {
            let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table()?);
            let order_id = OrderId::parse(&order_id).map_err(|msg| format!("order id {msg}"))?;
            let order = store.get_order(&order_id).await?.ok_or("no such order")?;
            let payment = store
                .get_payment(&order_id)
                .await?
                .ok_or("the order has no payment yet: POST /orders/{id}/payment first")?
                .payment;
            let now = Timestamp::now().unix();
            let event = serde_json::json!({
                "id": format!("evt_sandbox_{}", uuid::Uuid::now_v7().simple()),
                "object": "event",
                "type": "payment_intent.succeeded",
                "created": now,
                "livemode": false,
                "data": {"object": {
                    "id": payment.provider_payment_id,
                    "object": "payment_intent",
                    "amount": order.total,
                    "amount_received": order.total,
                    "currency": order.currency.as_str().to_ascii_lowercase(),
                    "status": "succeeded",
                    "metadata": {"shop_order_id": order.id},
                }},
            });
            let body = serde_json::to_vec(&event)?;
            let secret = Secret::new(settings.require("PAYMENT_WEBHOOK_SECRET")?);
            let url = url.unwrap_or_else(|| match settings.get("SHOP_API_URL") {
                Some(api) => format!("{}/payments/webhook", api.trim_end_matches('/')),
                None => format!(
                    "http://127.0.0.1:{}/payments/webhook",
                    settings.get("API_PORT").unwrap_or("3000")
                ),
            });
            let response = shared::adapters::http_client()
                .build()
                .expect("an HTTP client")
                .post(&url)
                .header("content-type", "application/json")
                .header("stripe-signature", webhook::sign(&secret, now, &body))
                .body(body)
                .send()
                .await?;
            let status = response.status();
            println!("{} {}", status.as_u16(), response.text().await?);
            if !status.is_success() {
                return Err(format!("the webhook answered {status}").into());
            }
        }
        Command::Dlq { action } => {
            let sqs = aws_sdk_sqs::Client::new(&aws);
            let spec = match action {
                DlqAction::List { queue } | DlqAction::Redrive { queue } => queue.spec(),
            };
            let source = match settings.get(spec.url_env) {
                Some(url) => url.to_owned(),
                None => {
                    let name = format!(
                        "{}{}",
                        settings.get("QUEUE_PREFIX").unwrap_or_default(),
                        spec.name
                    );
                    sqs.get_queue_url()
                        .queue_name(name)
                        .send()
                        .await?
                        .queue_url
                        .ok_or("no queue URL")?
                }
            };
            let dlq = dead_letter_queue(&sqs, &source).await?;
            match action {
                DlqAction::List { .. } => {
                    let messages = peek(&sqs, &dlq).await?;
                    println!("{}", serde_json::to_string_pretty(&messages)?);
                }
                DlqAction::Redrive { .. } => {
                    let moved = redrive(&sqs, &dlq, &source).await?;
                    println!("{}", serde_json::json!({"redriven": moved, "to": source}));
                }
            }
        }
        Command::Refunds { action } => {
            let app = shared::App::new(
                shared::Config::from_lookup(|key| settings.get(key).map(str::to_owned))?,
                &aws,
            )?;
            match action {
                RefundAction::Refused => {
                    for record in refunds::refused_refunds(&app, 1000).await? {
                        println!(
                            "{}",
                            serde_json::json!({
                                "order_id": record.payment.order_id,
                                "provider_payment_id": record.payment.provider_payment_id,
                                "amount": record.payment.amount,
                                "currency": record.payment.currency,
                                "reason": record.refund_error,
                            })
                        );
                    }
                }
                RefundAction::Retry { order_id } => {
                    let order = OrderId::parse(&order_id).map_err(|err| format!("order id: {err}"))?;
                    refunds::retry_refused_refund(&app, &order)
                        .await
                        .map_err(|err| format!("order {order}: {err}"))?;
                    println!("order {order}: the refund is back on the refunds queue");
                }
            }
        }
        Command::Disputes => {
            let app = shared::App::new(
                shared::Config::from_lookup(|key| settings.get(key).map(str::to_owned))?,
                &aws,
            )?;
            for disputed in shared::usecases::payments::disputes(&app, 1000).await? {
                println!("{}", serde_json::to_string(&disputed)?);
            }
        }
        Command::CreateAdmin {
            email,
            password,
            name,
        } => {
            let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table()?);
            let input =
                parse_document(serde_json::json!({"email": email, "password": password, "name": name}))
                    .map_err(|err| match err {
                        shared::Error::Validation(errors) => errors
                            .iter()
                            .map(|e| format!("{} {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other.to_string(),
                    })?;
            let user = users::create_user(&store, input, Role::Admin).await?;
            println!("{}", serde_json::to_string_pretty(&user)?);
        }
    }
    Ok(())
}

/// The DLQ of `source`, from its redrive policy.
async fn dead_letter_queue(sqs: &aws_sdk_sqs::Client, source: &str) -> Result<String, BoxError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(source)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await?
        .attributes
        .unwrap_or_default();
    let policy: serde_json::Value = serde_json::from_str(
        attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .ok_or("the queue has no DLQ")?,
    )?;
    let arn = policy["deadLetterTargetArn"]
        .as_str()
        .ok_or("the redrive policy names no DLQ")?;
    let name = arn.rsplit(':').next().ok_or("a DLQ ARN without a name")?;
    Ok(sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await?
        .queue_url
        .ok_or("no DLQ URL")?)
}

/// Every message in `dlq`, received with no visibility timeout so that none
/// is hidden from its next reader.
async fn peek(sqs: &aws_sdk_sqs::Client, dlq: &str) -> Result<Vec<serde_json::Value>, BoxError> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        let before = seen.len();
        for message in received {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.clone().unwrap_or_default();
            let attributes = message.attributes.unwrap_or_default();
            let attribute = |name: MessageSystemAttributeName| attributes.get(&name).cloned();
            seen.entry(id.clone()).or_insert_with(|| {
                serde_json::json!({
                    "message_id": id,
                    "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body)),
                    "sent_at_ms": attribute(MessageSystemAttributeName::SentTimestamp),
                    "receive_count": attribute(MessageSystemAttributeName::ApproximateReceiveCount),
                })
            });
        }
        if seen.len() == before {
            break;
        }
    }
    Ok(seen.into_values().collect())
}

/// Moves every message of `dlq` back to `source`: send first, then delete,
/// so a failure half way duplicates a message rather than losing it (the
/// workers are idempotent).
async fn redrive(sqs: &aws_sdk_sqs::Client, dlq: &str, source: &str) -> Result<usize, BoxError> {
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return Ok(moved);
        }
        for message in received {
            sqs.send_message()
                .queue_url(source)
                .message_body(message.body.unwrap_or_default())
                .send()
                .await?;
            if let Some(handle) = message.receipt_handle {
                sqs.delete_message()
                    .queue_url(dlq)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
            moved += 1;
        }
    }
}
