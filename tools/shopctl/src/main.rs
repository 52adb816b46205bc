//! `shopctl`: the shop's operator tool.
//!
//! It reads the same settings as the functions. Unless `--env-file none` is
//! given, the repository's `local.env` fills in what the environment leaves
//! unset, and a missing `AWS_ENDPOINT_URL` means the local emulator, so that
//! it works against `make dev` with no set-up.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use shared::auth::Role;
use shared::config::Secret;
use shared::input::parse_document;
use shared::money::Currency;
use shared::store::Store;
use shared::{BoxError, products, queue, store, users};

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
    about = "Operate the shop: create admins, set up the table and queues"
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
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
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
    let table = settings.require("TABLE_NAME")?;
    match cli.command {
        Command::Setup => {
            let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
            let exists = dynamodb.describe_table().table_name(table).send().await.is_ok();
            if !exists {
                store::create_table(&dynamodb, table).await?;
            }
            let sqs = aws_sdk_sqs::Client::new(&aws);
            let prefix = settings.get("QUEUE_PREFIX").unwrap_or_default();
            for (spec, urls) in queue::create_queues(&sqs, prefix).await? {
                println!("{}={}", spec.url_env, urls.url);
            }
        }
        Command::SeedCatalog => {
            let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
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
        Command::CreateAdmin {
            email,
            password,
            name,
        } => {
            let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
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
