//! `refunds refused`, `refunds retry` and `disputes`: the payments an
//! operator looks after.

use clap::Subcommand;
use shared::BoxError;
use shared::model::orders::OrderId;
use shared::usecases::refunds;

use crate::settings::Settings;

#[derive(Subcommand)]
pub enum RefundAction {
    /// Print the refused refunds, newest first, as JSON lines: order,
    /// payment, amount and the provider's reason.
    Refused,
    /// Try one again: it goes back to the refunds queue (with the provider
    /// configured as for the functions: PAYMENT_PROVIDER, STRIPE_API_KEY).
    Retry { order_id: String },
}

/// Lists the refused refunds, or retries one.
pub async fn run(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    action: RefundAction,
) -> Result<(), BoxError> {
    let app = settings.app(aws)?;
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
                        "reason": record.refund.refusal(),
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
    Ok(())
}

/// Prints the disputed orders, newest first, as JSON lines.
pub async fn disputes(settings: &Settings, aws: &aws_config::SdkConfig) -> Result<(), BoxError> {
    let app = settings.app(aws)?;
    for disputed in shared::usecases::payments::disputes(&app, 1000).await? {
        println!("{}", serde_json::to_string(&disputed)?);
    }
    Ok(())
}
