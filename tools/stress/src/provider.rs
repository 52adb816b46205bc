//! A stand-in for Stripe's API with a ledger: the shop's Stripe adapter
//! talks to it (`STRIPE_API_BASE`) as it would to Stripe, the chaos
//! workload captures its intents (as a customer's card would), and the
//! invariants are checked against what it holds: every intent, whether it
//! was captured, and every refund actually made.
//!
//! Like Stripe, it honours `Idempotency-Key` (a repeat answers the first
//! response again) and refuses a second refund of one payment with
//! `charge_already_refunded`. Faults, at a seeded random share of calls:
//! `500 api_error` or `429 rate_limit` before anything happens, the
//! connection reset after the call took effect, an answer after the call
//! took effect and the shop's client timed out (9 s), or a late answer.
//!
//! `POST /v1/payment_intents/{id}/cancel` cancels an intent not yet
//! captured (a captured one is `payment_intent_unexpected_state`); a
//! cancelled one can no longer be captured.
//!
//! `POST /_ledger/capture/{intent}` captures an intent and answers its
//! `payment_intent.succeeded` event; `POST /_ledger/stray` makes and
//! captures an intent for an order that does not exist; `GET /_ledger`
//! answers the ledger; `PUT /_faults` sets `{"rate", "seed"}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::BoxError;
use tokio::net::TcpListener;

use crate::faults::Mode;

/// Longer than the shop's provider timeout (8 s).
const HANG: Duration = Duration::from_secs(9);

/// One payment intent as the provider holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub id: String,
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
    pub captured: bool,
    /// Cancelled by the shop (its order was cancelled or expired): it can
    /// no longer be captured.
    #[serde(default)]
    pub canceled: bool,
    /// Refunds made (Stripe makes at most one full refund).
    pub refunds: Vec<String>,
    /// Asks for another refund under a new idempotency key, refused with
    /// `charge_already_refunded` as Stripe does: the shop tried to refund
    /// one payment twice.
    #[serde(default)]
    pub second_refund_asks: u32,
}

/// The provider's ledger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub intents: BTreeMap<String, Intent>,
    /// Calls answered from the idempotency cache.
    pub replays: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
}

#[derive(Default)]
struct State {
    ledger: Ledger,
    /// Idempotency-Key → (status, body) of the first answer.
    /// Stripe keeps a key's first answer with the request it answered: the
    /// same key with other parameters is an `idempotency_error`.
    answered: HashMap<String, (String, (u16, Value))>,
    rate: f64,
    rng: Option<fastrand::Rng>,
}

#[derive(Clone, Default)]
struct Stub(Arc<Mutex<State>>);

#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
struct Reset;

/// Serves the stub on `port` until the process ends.
pub async fn serve(port: u16, faults: Mode) -> Result<(), BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let stub = Stub::default();
    stub.set_faults(faults);
    eprintln!("stress: provider stub on http://127.0.0.1:{port}");
    loop {
        let (stream, _) = listener.accept().await?;
        let stub = stub.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let stub = stub.clone();
                async move { stub.handle(request).await }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Stripe's error shape: `type`, `code` (when there is one), `message`
/// and, for a code, its `doc_url`.
fn stripe_error(kind: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    json!({"error": error})
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What a fault does to one API call.
enum Injected {
    Before(u16, Value),
    ResetAfter,
    /// The call takes effect, and the answer comes after the shop's
    /// client has given up on it (its timeout is 8 s).
    Hang,
    Late(Duration),
}

impl Stub {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_faults(&self, mode: Mode) {
        let mut state = self.state();
        state.rate = mode.rate;
        state.rng = Some(fastrand::Rng::with_seed(mode.seed));
    }

    fn fault(&self) -> Option<Injected> {
        let mut state = self.state();
        let rate = state.rate;
        let rng = state.rng.as_mut()?;
        if rate <= 0.0 || rng.f64() >= rate {
            return None;
        }
        let (name, injected) = match rng.u8(0..5) {
            0 => (
                "api_error",
                Injected::Before(500, stripe_error("api_error", None, "An unknown error occurred")),
            ),
            1 => (
                "rate_limit",
                Injected::Before(
                    429,
                    stripe_error("invalid_request_error", Some("rate_limit"), "Too many requests"),
                ),
            ),
            2 => ("reset_after_effect", Injected::ResetAfter),
            3 => ("timeout_after_effect", Injected::Hang),
            _ => (
                "latency",
                Injected::Late(Duration::from_millis(rng.u64(200..2000))),
            ),
        };
        *state.ledger.faults.entry(name.to_owned()).or_default() += 1;
        Some(injected)
    }

    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Reset> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let path = parts.uri.path().to_owned();
        match (parts.method.clone(), path.as_str()) {
            (Method::GET, "/_ledger") => return Ok(answer(200, &json!(self.state().ledger))),
            (Method::PUT, "/_faults") => {
                return Ok(match serde_json::from_slice::<Mode>(&body) {
                    Ok(mode) => {
                        self.set_faults(mode);
                        answer(200, &json!({}))
                    }
                    Err(err) => answer(400, &json!({"error": err.to_string()})),
                });
            }
            (Method::POST, "/_ledger/stray") => {
                let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
                return Ok(self.stray(&form));
            }
            (Method::POST, capture) if capture.starts_with("/_ledger/capture/") => {
                let id = capture.trim_start_matches("/_ledger/capture/");
                return Ok(self.capture(id));
            }
            _ => {}
        }
        let authorised = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer sk_"));
        if !authorised {
            return Ok(answer(
                401,
                &stripe_error("invalid_request_error", None, "Invalid API Key provided"),
            ));
        }
        let key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let injected = self.fault();
        match &injected {
            Some(Injected::Before(status, body)) => return Ok(answer(*status, body)),
            Some(Injected::Late(delay)) => tokio::time::sleep(*delay).await,
            _ => {}
        }
        let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        let request = format!("{} {path} {}", parts.method, String::from_utf8_lossy(&body));
        let mut replayed = false;
        let (status, reply) = {
            let mut state = self.state();
            match key.as_ref().and_then(|key| state.answered.get(key)).cloned() {
                Some((first_request, first)) if first_request == request => {
                    state.ledger.replays += 1;
                    replayed = true;
                    first
                }
                Some(_) => (
                    400,
                    stripe_error(
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    ),
                ),
                None => {
                    let reply = match (parts.method.clone(), path.as_str()) {
                        (Method::POST, "/v1/payment_intents") => state.create_intent(&form),
                        (Method::POST, "/v1/refunds") => state.refund(&form),
                        (Method::POST, cancel) if cancel.ends_with("/cancel") => state.cancel(
                            cancel
                                .trim_start_matches("/v1/payment_intents/")
                                .trim_end_matches("/cancel"),
                        ),
                        _ => (
                            404,
                            stripe_error("invalid_request_error", None, "Unrecognized request URL"),
                        ),
                    };
                    // Stripe saves no answer for a request that failed
                    // before it ran (a 5xx or a 429).
                    if let Some(key) = key
                        && reply.0 < 500
                        && reply.0 != 429
                    {
                        state.answered.insert(key, (request.clone(), reply.clone()));
                    }
                    reply
                }
            }
        };
        match injected {
            Some(Injected::ResetAfter) => return Err(Reset),
            Some(Injected::Hang) => tokio::time::sleep(HANG).await,
            _ => {}
        }
        let mut response = answer(status, &reply);
        if replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
        }
        Ok(response)
    }

    fn capture(&self, id: &str) -> Response<Full<Bytes>> {
        let mut state = self.state();
        let Some(intent) = state.ledger.intents.get_mut(id) else {
            return answer(404, &json!({"error": "no such intent"}));
        };
        if intent.canceled {
            return answer(
                400,
                &stripe_error(
                    "card_error",
                    Some("payment_intent_unexpected_state"),
                    "This PaymentIntent was canceled",
                ),
            );
        }
        intent.captured = true;
        answer(200, &succeeded_event(intent))
    }

    fn stray(&self, form: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let mut state = self.state();
        let (_, created) = state.create_intent(form);
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let Some(intent) = state.ledger.intents.get_mut(&id) else {
            return answer(400, &created);
        };
        intent.captured = true;
        answer(200, &succeeded_event(intent))
    }
}

/// The `payment_intent.succeeded` event of a captured intent, as Stripe
/// sends it (the fields the shop reads, and some it does not).
pub fn succeeded_event(intent: &Intent) -> Value {
    json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "object": "event",
        "type": "payment_intent.succeeded",
        "livemode": false,
        "data": {"object": {
            "id": intent.id, "object": "payment_intent", "amount": intent.amount,
            "amount_received": intent.amount, "currency": intent.currency, "status": "succeeded",
            "metadata": {"shop_order_id": intent.order_id}, "latest_charge": format!("ch_{}", &intent.id[3..]),
        }},
    })
}

impl State {
    fn create_intent(&mut self, form: &HashMap<String, String>) -> (u16, Value) {
        let (Some(amount), Some(currency)) = (
            form.get("amount").and_then(|a| a.parse::<i64>().ok()),
            form.get("currency"),
        ) else {
            return (
                400,
                stripe_error(
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "amount and currency",
                ),
            );
        };
        let id = format!("pi_{}", uuid::Uuid::now_v7().simple());
        let intent = Intent {
            id: id.clone(),
            order_id: form.get("metadata[shop_order_id]").cloned().unwrap_or_default(),
            amount,
            currency: currency.clone(),
            captured: false,
            canceled: false,
            refunds: Vec::new(),
            second_refund_asks: 0,
        };
        self.ledger.intents.insert(id.clone(), intent);
        (
            200,
            json!({
                "id": id, "object": "payment_intent", "amount": amount, "amount_received": 0,
                "currency": currency, "capture_method": "automatic", "confirmation_method": "automatic",
                "created": now(), "livemode": false, "latest_charge": null,
                "payment_method_types": form.get("payment_method_types[]").map_or_else(|| vec!["card".to_owned()], |m| vec![m.clone()]),
                "status": "requires_payment_method", "client_secret": format!("{id}_secret_stub"),
                "metadata": {"shop_order_id": form.get("metadata[shop_order_id]")},
            }),
        )
    }

    fn cancel(&mut self, id: &str) -> (u16, Value) {
        let Some(intent) = self.ledger.intents.get_mut(id) else {
            return (
                404,
                stripe_error(
                    "invalid_request_error",
                    Some("resource_missing"),
                    "No such payment_intent",
                ),
            );
        };
        if intent.captured {
            return (
                400,
                stripe_error(
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    "You cannot cancel this PaymentIntent because it has a status of succeeded",
                ),
            );
        }
        intent.canceled = true;
        (
            200,
            json!({"id": id, "object": "payment_intent", "amount": intent.amount, "currency": intent.currency,
                   "status": "canceled", "cancellation_reason": "abandoned", "canceled_at": now(),
                   "livemode": false, "metadata": {"shop_order_id": intent.order_id}}),
        )
    }

    fn refund(&mut self, form: &HashMap<String, String>) -> (u16, Value) {
        let id = form.get("payment_intent").cloned().unwrap_or_default();
        let Some(intent) = self.ledger.intents.get_mut(&id) else {
            return (
                404,
                stripe_error(
                    "invalid_request_error",
                    Some("resource_missing"),
                    "No such payment_intent",
                ),
            );
        };
        if !intent.captured {
            return (
                400,
                stripe_error(
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    "This PaymentIntent has no successful charge to refund",
                ),
            );
        }
        let amount = form
            .get("amount")
            .and_then(|a| a.parse::<i64>().ok())
            .unwrap_or(intent.amount);
        if !intent.refunds.is_empty() {
            intent.second_refund_asks += 1;
            return (
                400,
                stripe_error(
                    "invalid_request_error",
                    Some("charge_already_refunded"),
                    "Charge has already been refunded",
                ),
            );
        }
        let refund = format!("re_{}", uuid::Uuid::now_v7().simple());
        intent.refunds.push(refund.clone());
        (
            200,
            json!({"id": refund, "object": "refund", "amount": amount, "currency": intent.currency,
                   "charge": format!("ch_{}", id.trim_start_matches("pi_")), "created": now(),
                   "payment_intent": id, "reason": null, "status": "succeeded",
                   "metadata": {"shop_order_id": form.get("metadata[shop_order_id]")}}),
        )
    }
}
