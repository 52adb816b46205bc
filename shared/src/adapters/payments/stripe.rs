//! Stripe's PaymentIntents API over HTTPS (rustls).

use futures::future::BoxFuture;
use serde::Deserialize;

use super::{Intent, IntentRequest, PaymentProvider, ProviderError, RefundRequest};
use crate::foundation::money::{Amount, MoneyError};
use crate::foundation::secret::Secret;
use crate::model::charges::provider_units;
use crate::model::payments::ProviderKind;
use crate::model::payments::ProviderPaymentId;

/// The Stripe API version every request names (`Stripe-Version`), so that
/// the account's default version, which changes when someone upgrades it in
/// the dashboard, cannot change the shapes the shop reads. The webhook
/// endpoint is set to the same version when it is created (docs/operations.md,
/// "Deploy"). It is the version of the `stripe` library the tests sign
/// events with (`scripts/requirements-tools.txt`).
pub const API_VERSION: &str = "2026-10-28.endive";

/// [`crate::model::payments::ORDER_METADATA_KEY`] as a form field.
const METADATA_ORDER: &str = "metadata[shop_order_id]";

#[derive(Debug, Clone)]
pub struct StripeProvider {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
}

#[derive(Deserialize)]
struct RefundResponse {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct IntentResponse {
    id: ProviderPaymentId,
    client_secret: Option<String>,
}

impl StripeProvider {
    /// `base_url` is `https://api.stripe.com` in production; tests point it
    /// at a local stub.
    pub fn new(base_url: String, api_key: Option<Secret>) -> Self {
        let client = crate::adapters::http_client()
            .timeout(std::time::Duration::from_secs(8))
            .build()
            .unwrap_or_default();
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
        }
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let key = self
            .api_key
            .as_ref()
            .ok_or_else(|| ProviderError::Rejected("STRIPE_API_KEY is not set".into()))?;
        let key =
            std::str::from_utf8(key.expose()).map_err(|_| ProviderError::Rejected("bad API key".into()))?;
        let body = form
            .iter()
            .fold(
                form_urlencoded::Serializer::new(String::new()),
                |mut s, (k, v)| {
                    s.append_pair(k, v);
                    s
                },
            )
            .finish();
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(key)
            .header("idempotency-key", idempotency_key)
            .header("stripe-version", API_VERSION)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|err| ProviderError::Transient(format!("request failed: {}", err.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|err| {
                ProviderError::Transient(format!("unreadable response: {}", err.without_url()))
            });
        }
        // Stripe's error body names the problem; it never holds the key.
        let detail = response.text().await.unwrap_or_default();
        let code = serde_json::from_str::<ErrorBody>(&detail)
            .ok()
            .and_then(|body| body.error.code);
        match code.as_deref() {
            Some("charge_already_refunded") => return Err(ProviderError::AlreadyRefunded),
            Some("payment_intent_unexpected_state") => return Err(ProviderError::UnexpectedState),
            _ => {}
        }
        let detail = format!("HTTP {status}: {}", detail.chars().take(300).collect::<String>());
        if status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::CONFLICT
        {
            Err(ProviderError::Transient(detail))
        } else {
            Err(ProviderError::Rejected(detail))
        }
    }
}

/// An amount as Stripe counts it ([`provider_units`]), as a form value.
fn stripe_amount(amount: Result<Amount, MoneyError>) -> Result<String, ProviderError> {
    let amount = amount.map_err(|err| ProviderError::Rejected(err.to_string()))?;
    provider_units(amount)
        .map(|units| units.to_string())
        .map_err(|err| ProviderError::Rejected(err.to_string()))
}

impl PaymentProvider for StripeProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    fn create_intent<'a>(
        &'a self,
        request: IntentRequest<'a>,
    ) -> BoxFuture<'a, Result<Intent, ProviderError>> {
        Box::pin(async move {
            let form = [
                ("amount", stripe_amount(request.amount.of(*request.currency))?),
                ("currency", request.currency.as_str().to_ascii_lowercase()),
                (METADATA_ORDER, request.order_id.to_string()),
                // Cards only: they settle at once (no `processing` while
                // the order's reservation runs out).
                ("payment_method_types[]", "card".to_owned()),
            ];
            let created: IntentResponse = self
                .post("/v1/payment_intents", &request.idempotency_key, &form)
                .await?;
            Ok(Intent {
                id: created.id,
                client_secret: created.client_secret,
            })
        })
    }

    fn cancel_intent<'a>(
        &'a self,
        provider_payment_id: &'a ProviderPaymentId,
        idempotency_key: String,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let path = format!("/v1/payment_intents/{provider_payment_id}/cancel");
            let form = [("cancellation_reason", "abandoned".to_owned())];
            match self
                .post::<serde_json::Value>(&path, &idempotency_key, &form)
                .await
            {
                // Cancelled before, or it succeeded (its webhook follows).
                Ok(_) | Err(ProviderError::UnexpectedState) => Ok(()),
                Err(err) => Err(err),
            }
        })
    }

    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let mut form = vec![
                ("payment_intent", request.provider_payment_id.to_string()),
                ("amount", stripe_amount(Ok(request.amount))?),
            ];
            if let Some(order) = request.order_id {
                form.push((METADATA_ORDER, order.to_string()));
            }
            let refund: RefundResponse = self.post("/v1/refunds", &request.idempotency_key, &form).await?;
            Ok(refund.id)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_metadata_field_names_the_models_key() {
        let key = crate::model::payments::ORDER_METADATA_KEY;
        assert_eq!(super::METADATA_ORDER, format!("metadata[{key}]"));
    }
}
