//! The sandbox provider: no network. Its intents are derived from the order,
//! so asking twice gives the same intent, as Stripe's idempotency keys do.

use futures::future::BoxFuture;

use super::{Intent, IntentRequest, PaymentProvider, ProviderError, RefundRequest};
use crate::model::payments::ProviderKind;
use crate::model::payments::ProviderPaymentId;

#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxProvider;

impl PaymentProvider for SandboxProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    fn create_intent<'a>(
        &'a self,
        request: IntentRequest<'a>,
    ) -> BoxFuture<'a, Result<Intent, ProviderError>> {
        let id = format!("pi_sandbox_{}", request.order_id.uuid().simple());
        Box::pin(async move {
            Ok(Intent {
                client_secret: Some(format!("{id}_secret_sandbox")),
                id: ProviderPaymentId::parse(id).map_err(ProviderError::Rejected)?,
            })
        })
    }

    fn cancel_intent<'a>(
        &'a self,
        _provider_payment_id: &'a ProviderPaymentId,
        _idempotency_key: String,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> BoxFuture<'a, Result<String, ProviderError>> {
        let id = format!(
            "re_sandbox_{}",
            request
                .provider_payment_id
                .as_str()
                .trim_start_matches("pi_sandbox_")
        );
        Box::pin(async move { Ok(id) })
    }
}
