//! `pay`: a sandbox payment, as the provider would report it.

use shared::BoxError;
use shared::adapters::payments::webhook;
use shared::foundation::clock::Timestamp;
use shared::foundation::secret::Secret;
use shared::model::orders::OrderId;

use crate::settings::Settings;

/// Signs a `payment_intent.succeeded` event for the order's payment and
/// posts it to the webhook at `url` (default: the local one).
pub async fn pay(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    order_id: &str,
    url: Option<String>,
) -> Result<(), BoxError> {
    let store = settings.store(aws)?;
    let order_id = OrderId::parse(order_id).map_err(|msg| format!("order id {msg}"))?;
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
    Ok(())
}
