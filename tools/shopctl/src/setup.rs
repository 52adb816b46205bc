//! `setup` and `seed-catalog`: the table, the queues, a demo catalogue.

use shared::BoxError;
use shared::adapters::queue;
use shared::adapters::store;
use shared::foundation::input::parse_document;
use shared::foundation::money::Currency;
use shared::foundation::secret::Secret;
use shared::model::users::CountryCode;
use shared::usecases::products;

use crate::settings::Settings;

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

/// Creates the table and the queues (with DLQs) if they are missing, and
/// the SES identity, the event bus and its queue for tests; prints the
/// queue URLs as KEY=VALUE lines.
pub async fn setup(settings: &Settings, aws: &aws_config::SdkConfig) -> Result<(), BoxError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let exists = dynamodb
        .describe_table()
        .table_name(settings.require("TABLE_NAME")?)
        .send()
        .await
        .is_ok();
    if !exists {
        store::create_table(&dynamodb, settings.require("TABLE_NAME")?).await?;
    }
    let sqs = aws_sdk_sqs::Client::new(aws);
    let prefix = settings.get("QUEUE_PREFIX").unwrap_or_default();
    let visibility = settings
        .get("QUEUE_VISIBILITY_TIMEOUT_SECONDS")
        .map(str::parse::<u32>)
        .transpose()
        .map_err(|_| "QUEUE_VISIBILITY_TIMEOUT_SECONDS is not a number")?;
    for (spec, urls) in queue::create_queues(&sqs, prefix, visibility).await? {
        println!("{}={}", spec.url_env, urls.url);
    }
    if let (Some(from), Some(bus)) = (settings.get("EMAIL_FROM"), settings.get("EVENT_BUS_NAME")) {
        let url = shared::adapters::outbound::create(aws, from, bus, &format!("{prefix}events")).await?;
        println!("EVENTS_QUEUE_URL={url}");
    }
    Ok(())
}

/// Loads the demo catalogue into an empty one and prints it.
pub async fn seed_catalog(settings: &Settings, aws: &aws_config::SdkConfig) -> Result<(), BoxError> {
    let store = settings.store(aws)?;
    let currency = Currency::parse(settings.get("STORE_CURRENCY").unwrap_or("USD").to_owned())?;
    let country = CountryCode::parse(settings.get("STORE_COUNTRY").unwrap_or("US").to_owned())?;
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
        added.push(products::add_product(&store, input, &currency, &country).await?);
    }
    println!("{}", serde_json::to_string_pretty(&added)?);
    Ok(())
}
