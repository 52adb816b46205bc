//! The notifier: what each committed change of the table sends, sent once
//! per channel (decision 69). The table's stream is the outbox: a change
//! that did not commit has no record, and a record is delivered until its
//! batch succeeds, so nothing is lost when a function dies.
//!
//! Each notification is claimed before it is sent (`NOTIFY#<channel>#<event
//! id>`, with a lease) and marked done after: a redelivered record finds it
//! done and sends nothing; a sender that died holding it leaves it to the
//! next after its lease. SES takes no idempotency key, so one death inside
//! `SendEmail`, after SES accepted and before the claim was marked, sends
//! that email twice; nothing else can.

use serde_json::json;

use crate::adapters::metrics;
use crate::adapters::store::{Claim, Claimed, TableChange};
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::{OrderId, ShipmentId};
use crate::model::accounts::{Purpose, TokenRecord};
use crate::model::emails::{self, EmailLocale, Facts, OrderFacts, ShipmentFacts, Template, feedback};
use crate::model::events::{self, EventType};
use crate::model::orders::Order;
use crate::model::products::{LowStock, LowStockStep, ProductId, low_stock_step};
use crate::model::users::Email;

/// The channels a change is sent on.
pub const EMAIL: &str = "email";
pub const BUS: &str = "bus";

/// How long a sender holds a claim: well past one send's time, short
/// enough that a dead sender's email goes within a minute or two.
pub const LEASE_SECS: i64 = 60;

/// Sends what `change` calls for on every channel. An error leaves what
/// was not done for the record's next delivery.
pub async fn handle_change(app: &App, change: TableChange) -> Result<(), Error> {
    match change {
        TableChange::Order { before, after, seq } => {
            order_changed(app, before.map(|order| order.status), &after, seq).await
        }
        TableChange::Token(record) => token_issued(app, &record).await,
        TableChange::SignupAttempt { id, email } => signup_attempted(app, &id, &email).await,
        TableChange::Stock(product)
        | TableChange::Product {
            id: product,
            threshold_changed: true,
            ..
        } => stock_changed(app, &product).await,
        TableChange::Product { .. } | TableChange::Other => Ok(()),
    }
}

async fn order_changed(
    app: &App,
    before: Option<crate::model::orders::OrderStatus>,
    order: &Order,
    seq: u64,
) -> Result<(), Error> {
    let notice = events::order_notice(before, order.status);
    let id = events::event_id(&order.id, seq);
    let publish = async {
        match notice.event {
            Some(event) => publish(app, event, order, seq, &id).await,
            None => Ok(()),
        }
    };
    let email = async {
        match notice.email {
            Some(template) => email_order(app, template, order, &id).await,
            None => Ok(()),
        }
    };
    let (published, emailed) = futures::join!(publish, email);
    published.and(emailed)
}

/// How often a low-stock step is read and written again when the
/// product's stock changed in between, before the record is left to its
/// next delivery.
const STOCK_ATTEMPTS: usize = 5;

/// Raises, announces or clears the product's low-stock alert, from its
/// stock and threshold as they are now (read strongly, product and every
/// counter): whichever record of its counters comes first does the work,
/// and the others, or a redelivery, find it done.
async fn stock_changed(app: &App, product: &ProductId) -> Result<(), Error> {
    for _ in 0..STOCK_ATTEMPTS {
        let Some(state) = app.store.product_state(product, true).await? else {
            return Ok(());
        };
        let stock = state.stock();
        let written = match low_stock_step(&state.record, stock) {
            LowStockStep::Nothing => return Ok(()),
            LowStockStep::Announce(alert) => return announce_low_stock(app, product, &alert).await,
            LowStockStep::Raise { alert } => {
                let alert = LowStock {
                    alert,
                    stock,
                    threshold: state.record.low_stock_threshold.unwrap_or_default(),
                    at: Timestamp::now(),
                };
                if app.store.raise_low_stock(&state, &alert).await? {
                    return announce_low_stock(app, product, &alert).await;
                }
                false
            }
            LowStockStep::Clear(alert) => {
                // A fall seen is published even if the stock came back
                // before its announcement did (the claim makes it once).
                announce_low_stock(app, product, &alert).await?;
                app.store.clear_low_stock(&state, alert.alert).await?
            }
        };
        if written {
            return Ok(());
        }
    }
    Err(Error::Unavailable(format!(
        "the stock of {product} kept changing while its low-stock alert was written"
    )))
}

/// Publishes `product.low_stock` for `alert`, once.
async fn announce_low_stock(app: &App, product: &ProductId, alert: &LowStock) -> Result<(), Error> {
    let id = events::low_stock_id(product, alert.alert);
    let intent = json!({
        "type": EventType::ProductLowStock,
        "product_id": product.to_string(),
        "alert": alert,
    })
    .to_string();
    let Some(claimed) = claim(app, BUS, &id, &intent).await? else {
        return Ok(());
    };
    let detail = events::low_stock_detail(product, alert).to_string();
    publish_detail(app, &claimed, EventType::ProductLowStock, &detail).await
}

async fn claim(app: &App, channel: &str, id: &str, intent: &str) -> Result<Option<Claimed>, Error> {
    match app
        .store
        .claim_notification(channel, id, intent, Timestamp::now(), LEASE_SECS)
        .await?
    {
        Claim::Mine(claimed) => Ok(Some(claimed)),
        Claim::Done => Ok(None),
        Claim::Held => Err(Error::Unavailable(format!(
            "another sender holds the {channel} of {id}; retry after its lease"
        ))),
    }
}

async fn publish(app: &App, event: EventType, order: &Order, seq: u64, id: &str) -> Result<(), Error> {
    let detail = events::order_detail(event, order, seq).to_string();
    // What a resend needs, small: a claim is written twice and listed
    // while not done, and the detail is most of an order.
    let intent = json!({"type": event, "order_id": order.id.to_string(), "sequence": seq}).to_string();
    let Some(claimed) = claim(app, BUS, id, &intent).await? else {
        return Ok(());
    };
    publish_detail(app, &claimed, event, &detail).await
}

/// Publishes one event under `claimed` and marks the claim done.
async fn publish_detail(app: &App, claimed: &Claimed, event: EventType, detail: &str) -> Result<(), Error> {
    if let Err(err) = app
        .outbound()?
        .publish(event.as_str(), events::SOURCE, detail)
        .await
    {
        metrics::count("EventsFailed", 1);
        return Err(err);
    }
    finish(app, claimed, "published", None).await?;
    metrics::count_by("EventsPublished", ("Type", event.as_str()), 1);
    Ok(())
}

async fn email_order(app: &App, template: Template, order: &Order, id: &str) -> Result<(), Error> {
    let intent = json!({"template": template, "order_id": order.id.to_string()}).to_string();
    let Some(claimed) = claim(app, EMAIL, id, &intent).await? else {
        return Ok(());
    };
    send_order_email(app, &claimed, template, order).await
}

/// Renders and sends an order's email under `claimed`, from `order` as the
/// change left it (the stream's image; a re-send by hand, the order as it
/// is then), and marks the claim done: `sent`, `suppressed` (the address
/// bounced or complained) or `no_recipient` (the account is gone).
async fn send_order_email(
    app: &App,
    claimed: &Claimed,
    template: Template,
    order: &Order,
) -> Result<(), Error> {
    let shipment = async {
        if matches!(template, Template::Shipped | Template::Delivered) {
            app.store.get_shipment(&ShipmentId::for_order(&order.id)).await
        } else {
            Ok(None)
        }
    };
    let (account, shipment) = futures::join!(app.store.get_account(&order.user_id), shipment);
    let Some(account) = account? else {
        return finish(app, claimed, "no_recipient", None).await;
    };
    let to = &account.user.email;
    let locale = EmailLocale::choose(
        account.locale.as_deref(),
        Some(order.shipping_address.country().as_str()),
    );
    let link = format!("{}/orders/{}", app.config.shop_url, order.id);
    let facts = Facts {
        name: account.user.name.as_str().to_owned(),
        order: Some(OrderFacts::of(order, &locale)),
        shipment: shipment?.map(|shipment| ShipmentFacts::of(&shipment, link.clone())),
        refund: (template == Template::RefundIssued)
            .then(|| locale.money(order.total.minor(), order.currency)),
        link: Some(link),
    };
    send(app, claimed, template, to, &locale, &facts).await
}

/// A verification or reset link, to the address the token was issued
/// for, in the language of the account's country (if it has an address).
async fn token_issued(app: &App, record: &TokenRecord) -> Result<(), Error> {
    let id = format!("token-{}", record.id);
    let template = match record.purpose {
        Purpose::Verify => Template::VerifyEmail,
        Purpose::Reset => Template::PasswordReset,
    };
    let secret = app.config.account_token_secret()?;
    let digest = crate::model::accounts::digest(&record.token(secret));
    let intent = json!({"template": template, "token_digest": digest}).to_string();
    let Some(claimed) = claim(app, EMAIL, &id, &intent).await? else {
        return Ok(());
    };
    send_token_email(app, &claimed, record).await
}

async fn send_token_email(app: &App, claimed: &Claimed, record: &TokenRecord) -> Result<(), Error> {
    let template = match record.purpose {
        Purpose::Verify => Template::VerifyEmail,
        Purpose::Reset => Template::PasswordReset,
    };
    let account = app.store.get_account(&record.user_id).await?;
    let name = account
        .as_ref()
        .map_or_else(String::new, |account| account.user.name.as_str().to_owned());
    let country = account
        .as_ref()
        .and_then(|account| account.user.address.as_ref())
        .map(|address| address.country().as_str().to_owned());
    let link = format!(
        "{}{}?token={}",
        app.config.shop_url,
        record.purpose.path(),
        record.token(app.config.account_token_secret()?)
    );
    let locale = EmailLocale::choose(
        account.as_ref().and_then(|account| account.locale.as_deref()),
        country.as_deref(),
    );
    let facts = Facts {
        name,
        link: Some(link),
        ..Facts::default()
    };
    send(app, claimed, template, &record.email, &locale, &facts).await
}

/// The notice to an account's owner that someone tried to sign up with
/// their email, with the way to reset the password if it was them.
async fn signup_attempted(app: &App, id: &str, email: &Email) -> Result<(), Error> {
    let id = format!("signup-attempt-{id}");
    let intent = json!({"template": Template::RegistrationAttempt, "email": email.as_str()}).to_string();
    let Some(claimed) = claim(app, EMAIL, &id, &intent).await? else {
        return Ok(());
    };
    send_signup_notice(app, &claimed, email).await
}

async fn send_signup_notice(app: &App, claimed: &Claimed, email: &Email) -> Result<(), Error> {
    let account = app.store.find_account_by_email(email).await?;
    let name = account
        .as_ref()
        .map_or_else(String::new, |account| account.user.name.as_str().to_owned());
    // The owner's language (what they asked for at sign-up, else their
    // address's country), not the stranger's who tried.
    let locale = EmailLocale::choose(
        account.as_ref().and_then(|account| account.locale.as_deref()),
        account
            .as_ref()
            .and_then(|account| account.user.address.as_ref())
            .map(|address| address.country().as_str()),
    );
    let facts = Facts {
        name,
        link: Some(format!("{}{}", app.config.shop_url, Purpose::Reset.path())),
        ..Facts::default()
    };
    send(
        app,
        claimed,
        Template::RegistrationAttempt,
        email,
        &locale,
        &facts,
    )
    .await
}

/// Renders and sends one email under `claimed`, unless the address is
/// suppressed; marks the claim done either way.
async fn send(
    app: &App,
    claimed: &Claimed,
    template: Template,
    to: &Email,
    locale: &EmailLocale,
    facts: &Facts,
) -> Result<(), Error> {
    if app.store.is_suppressed(to).await? {
        metrics::count("EmailsSuppressed", 1);
        return finish(app, claimed, "suppressed", None).await;
    }
    let rendered = emails::render(template, locale, facts)?;
    match app.outbound()?.send_email(to, &rendered).await {
        Ok(message_id) => {
            metrics::count_by("EmailsSent", ("Template", template.as_str()), 1);
            finish(app, claimed, "sent", Some(&message_id)).await
        }
        Err(err) => {
            metrics::count("EmailsFailed", 1);
            Err(err)
        }
    }
}

/// The notifications claimed and not done, oldest first: those whose
/// sender died or whose record the stream gave up on (the notifier's
/// dead-letter alarm); `shopctl notifications pending` lists them.
pub async fn pending(app: &App, limit: usize) -> Result<Vec<crate::adapters::store::Pending>, Error> {
    app.store.pending_notifications(limit).await
}

/// Sends one notification again by hand (`shopctl notifications resend`),
/// from what it was claimed with: an event under its type and sequence,
/// an email, from its order, token or address as they are now. It claims it like a
/// sender, so it goes only if no live sender holds it and it is not done.
pub async fn resend(app: &App, channel: &str, event_id: &str) -> Result<(), Error> {
    let intent = app
        .store
        .notification_intent(channel, event_id)
        .await?
        .ok_or(Error::NotFound)?;
    let Some(claimed) = claim(app, channel, event_id, &intent).await? else {
        return Err(Error::invalid("event_id", "is sent already"));
    };
    let intent: serde_json::Value = serde_json::from_str(&intent).map_err(Error::internal)?;
    if channel == BUS {
        let kind: EventType = serde_json::from_value(intent["type"].clone()).map_err(Error::internal)?;
        if kind == EventType::ProductLowStock {
            let product = ProductId::parse(intent["product_id"].as_str().unwrap_or_default())
                .map_err(Error::internal)?;
            let alert: LowStock = serde_json::from_value(intent["alert"].clone()).map_err(Error::internal)?;
            let detail = events::low_stock_detail(&product, &alert).to_string();
            return publish_detail(app, &claimed, kind, &detail).await;
        }
        let order =
            OrderId::parse(intent["order_id"].as_str().unwrap_or_default()).map_err(Error::internal)?;
        let order = app.store.get_order(&order).await?.ok_or(Error::NotFound)?;
        let seq = intent["sequence"].as_u64().unwrap_or_default();
        let detail = events::order_detail(kind, &order, seq).to_string();
        app.outbound()?
            .publish(kind.as_str(), events::SOURCE, &detail)
            .await?;
        return finish(app, &claimed, "published", None).await;
    }
    let template: Template = serde_json::from_value(intent["template"].clone()).map_err(Error::internal)?;
    if let Some(order) = intent["order_id"].as_str() {
        let order = OrderId::parse(order).map_err(Error::internal)?;
        let order = app.store.get_order(&order).await?.ok_or(Error::NotFound)?;
        return send_order_email(app, &claimed, template, &order).await;
    }
    if let Some(digest) = intent["token_digest"].as_str() {
        let record = app.store.account_token(digest).await?.ok_or(Error::NotFound)?;
        return send_token_email(app, &claimed, &record).await;
    }
    let email = intent["email"].as_str().unwrap_or_default().to_owned();
    let email = Email::parse(email).map_err(Error::internal)?;
    send_signup_notice(app, &claimed, &email).await
}

/// SES's report on an email, through SNS: each address it says bounced
/// for good or complained goes on the suppression list (once; a second
/// report keeps the first), and no email goes to it again.
pub async fn handle_feedback(app: &App, message: String) -> Result<(), Error> {
    for (email, reason) in feedback::suppressions(&message) {
        if app
            .store
            .suppress(&email, reason.as_str(), Timestamp::now())
            .await?
        {
            let metric = match reason {
                feedback::Reason::Bounce => "EmailsBounced",
                feedback::Reason::Complaint => "EmailsComplained",
            };
            metrics::count(metric, 1);
        }
    }
    Ok(())
}

async fn finish(app: &App, claimed: &Claimed, outcome: &str, reference: Option<&str>) -> Result<(), Error> {
    app.store
        .finish_notification(claimed, outcome, reference, Timestamp::now())
        .await
}
