//! The HTTP edge shared by every API function: the [`run`] loop, typed access
//! to the request (path, query, caller, strict JSON body) and the responses,
//! errors included as RFC 9457 problem details.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::app::parts::Parts;
use crate::entry::runtime;
use crate::foundation::cursor::parse_limit;
use crate::foundation::error::{BoxError, Error};
use crate::foundation::ids::Id;
use crate::foundation::input::{FromJson, parse_document};
use crate::model::auth::{self, Admin, Principal};
use crate::model::users::ClientAddress;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub type Response = lambda_http::Response<Body>;

/// What a handler returns: a response, or an error answered as a problem.
pub type Answer = Result<Response, Error>;

/// Runs an API function: builds the [`App`] of `parts` once at cold start,
/// then answers every invocation with `handler`. Errors become problem+json responses and
/// a panic becomes a 500, never a dead process.
pub fn run<P, F, Fut>(parts: P, handler: F) -> Result<(), BoxError>
where
    P: Parts,
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    runtime::start(parts, |app| {
        lambda_http::run(lambda_http::service_fn(move |request| {
            let answer = AssertUnwindSafe(handler(app, Request::new(request))).catch_unwind();
            async move {
                let response = match answer.await {
                    Ok(answer) => respond(answer),
                    Err(_) => {
                        tracing::error!("handler panicked");
                        respond(Err(Error::internal("handler panicked")))
                    }
                };
                Ok::<_, lambda_http::Error>(response)
            }
        }))
    })
}

/// Turns a handler's answer into the response, logging failures by code
/// only: bodies, tokens and passwords never reach a log. Every answer but
/// the public catalogue's ([`ok_public`]) is `Cache-Control: no-store`: an
/// authenticated answer (a profile, an order, a token) must never be kept
/// by a browser or a shared cache, and an error is not worth keeping.
pub fn respond(answer: Answer) -> Response {
    let mut response = answer_or_problem(answer);
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn answer_or_problem(answer: Answer) -> Response {
    match answer {
        Ok(response) => response,
        Err(err) => {
            match &err {
                Error::Internal(source) => tracing::error!(error = %source, "request failed"),
                Error::Unavailable(detail) => tracing::error!(detail = %detail, "dependency unavailable"),
                other => tracing::info!(code = code(other), "request refused"),
            }
            problem(&err)
        }
    }
}

/// An API Gateway request with typed accessors.
pub struct Request {
    inner: lambda_http::Request,
}

impl Request {
    pub fn new(inner: lambda_http::Request) -> Self {
        Self { inner }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Where the request came from (API Gateway's `requestContext.http.sourceIp`).
    pub fn client_address(&self) -> ClientAddress {
        let source = match self.inner.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref(),
            _ => None,
        };
        ClientAddress::parse(source)
    }

    /// The authenticated caller, from `Authorization: Bearer <token>`: a
    /// valid token, not revoked by a password change since it was issued
    /// (one read of the user's token version, and of whether their email is
    /// verified).
    pub async fn caller(&self, app: &App) -> Result<Principal, Error> {
        let (caller, version) =
            auth::authenticate_versioned(app.config.jwt_secret()?, self.header("authorization"))?;
        let (current, verified) = app.store.token_version(&caller.user_id).await?;
        if auth::token_revoked(version, current) {
            return Err(Error::Unauthenticated);
        }
        Ok(Principal { verified, ..caller })
    }

    /// The authenticated caller, who must be an admin (else `403`).
    pub async fn admin(&self, app: &App) -> Result<Admin, Error> {
        self.caller(app).await?.into_admin()
    }

    /// The request's path as the client sent it (`rawPath`).
    pub fn path(&self) -> &str {
        self.inner.uri().path()
    }

    /// A path parameter; a missing one means the route does not exist.
    pub fn path_param(&self, name: &str) -> Result<String, Error> {
        self.inner
            .path_parameters_ref()
            .and_then(|params| params.first(name))
            .map(str::to_owned)
            .ok_or(Error::NotFound)
    }

    /// A path parameter that names an entity by id: one that cannot be an id
    /// names nothing, so it is `404`, like an id that does not exist.
    pub fn path_id<T: Id>(&self, name: &str) -> Result<T, Error> {
        T::parse(&self.path_param(name)?).map_err(|_| Error::NotFound)
    }

    pub fn query(&self, name: &str) -> Option<String> {
        self.inner
            .query_string_parameters_ref()
            .and_then(|params| params.first(name))
            .map(str::to_owned)
    }

    /// The raw body, as received (for signature checks).
    pub fn body_bytes(&self) -> &[u8] {
        self.inner.body().as_ref()
    }

    /// `limit` (1..=100, default 20) and `cursor` of a listing.
    pub fn page_params(&self) -> Result<(usize, Option<String>), Error> {
        let limit = parse_limit(self.query("limit").as_deref())?;
        Ok((limit, self.query("cursor").filter(|c| !c.is_empty())))
    }

    /// The version `If-Match` names, if the header is there: `"7"` (an
    /// `ETag` as answered; weak `W/"7"` and bare `7` are read alike), or
    /// `*` (any: no condition). Anything else names no version there can
    /// be: `412`.
    pub fn if_match(&self) -> Result<Option<u64>, Error> {
        let Some(value) = self.inner.headers().get(header::IF_MATCH) else {
            return Ok(None);
        };
        let text = value.to_str().map_err(|_| Error::PreconditionFailed)?.trim();
        if text == "*" {
            return Ok(None);
        }
        let tag = text.strip_prefix("W/").unwrap_or(text);
        let tag = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(tag);
        tag.parse::<u64>()
            .map(Some)
            .map_err(|_| Error::PreconditionFailed)
    }

    /// The `Idempotency-Key` header, if any: 1 to 255 printable characters.
    pub fn idempotency_key(&self) -> Result<Option<String>, Error> {
        let Some(value) = self.inner.headers().get("idempotency-key") else {
            return Ok(None);
        };
        let key = value.to_str().unwrap_or_default();
        let printable = key.bytes().all(|b| (0x20..0x7f).contains(&b));
        if key.is_empty() || key.len() > 255 || !printable || value.as_bytes().len() != key.len() {
            return Err(Error::invalid(
                "Idempotency-Key",
                "must be 1 to 255 printable characters",
            ));
        }
        Ok(Some(key.to_owned()))
    }

    /// The route and body, canonicalised (JSON with sorted keys), so that the
    /// same request in other whitespace or key order counts as the same.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let bytes: &[u8] = self.inner.body().as_ref();
        let canonical = serde_json::from_slice::<Value>(bytes)
            .and_then(|v| serde_json::to_vec(&v))
            .unwrap_or_else(|_| bytes.to_vec());
        let mut hash = Sha256::new();
        hash.update(self.inner.method().as_str());
        hash.update(b" ");
        hash.update(self.inner.uri().path());
        hash.update(b"\n");
        hash.update(&canonical);
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The body as `T`: `application/json` (else 415), at most
    /// [`MAX_BODY_BYTES`] (else 413), well-formed, with only known fields of
    /// the right types and ranges (else 400 naming each bad field).
    pub fn json<T: FromJson>(&self) -> Result<T, Error> {
        let content_type = self.header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes: &[u8] = self.inner.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Error::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|err| {
            Error::invalid(
                "body",
                format!("is not valid JSON (line {}, column {})", err.line(), err.column()),
            )
        })?;
        parse_document(value)
    }
}

fn with_json(status: StatusCode, content_type: &'static str, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => {
            let mut response = Response::new(Body::Text(text));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(err) => problem(&Error::internal(err)),
    }
}

/// `200` with a JSON body.
pub fn ok(body: &impl Serialize) -> Answer {
    Ok(with_json(StatusCode::OK, "application/json", body))
}

/// How long a shared cache (the CDN in front of the API) may serve a public
/// catalogue answer: long enough to take a launch's read storm off the
/// table, short enough that stock and prices are seconds behind.
pub const PUBLIC_MAX_AGE_SECS: u32 = 10;

/// `200` with a JSON body anyone may see, which caches may keep for
/// [`PUBLIC_MAX_AGE_SECS`].
pub fn ok_public(body: &impl Serialize) -> Answer {
    let mut response = with_json(StatusCode::OK, "application/json", body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={PUBLIC_MAX_AGE_SECS}"))
            .unwrap_or_else(|_| HeaderValue::from_static("no-store")),
    );
    Ok(response)
}

/// `201` with a JSON body.
pub fn created(body: &impl Serialize) -> Answer {
    Ok(with_json(StatusCode::CREATED, "application/json", body))
}

/// `200` with a versioned resource (a cart) and its `ETag: "<version>"`.
pub fn ok_versioned(body: &impl Serialize, version: u64) -> Answer {
    let mut response = with_json(StatusCode::OK, "application/json", body);
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// `202` with a JSON body: accepted, finished later by a worker.
pub fn accepted(body: &impl Serialize) -> Answer {
    Ok(with_json(StatusCode::ACCEPTED, "application/json", body))
}

/// `204` without a body.
pub fn no_content() -> Answer {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// The stable, machine-readable code of an error.
pub fn code(err: &Error) -> &'static str {
    match err {
        Error::Validation(_) => "VALIDATION_FAILED",
        Error::Unauthenticated => "UNAUTHENTICATED",
        Error::InvalidCredentials => "INVALID_CREDENTIALS",
        Error::Forbidden => "FORBIDDEN",
        Error::NotFound => "NOT_FOUND",
        Error::EmailTaken => "EMAIL_TAKEN",
        Error::InvalidToken => "INVALID_TOKEN",
        Error::EmailNotVerified => "EMAIL_NOT_VERIFIED",
        Error::TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
        Error::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
        Error::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        Error::OutOfStock(_) => "OUT_OF_STOCK",
        Error::ProductUnavailable(..) => "PRODUCT_UNAVAILABLE",
        Error::NotShippable(_) => "NOT_SHIPPABLE",
        Error::CartEmpty => "CART_EMPTY",
        Error::CartFull(_) => "CART_FULL",
        Error::PreconditionFailed => "PRECONDITION_FAILED",
        Error::PriceChanged(_) => "PRICE_CHANGED",
        Error::CouponNotApplicable { .. } => "COUPON_NOT_APPLICABLE",
        Error::CodeTaken(_) => "CODE_TAKEN",
        Error::InvalidState(_) | Error::DefaultMarketStays => "INVALID_STATE",
        Error::CountryInOtherMarket { .. } => "COUNTRY_IN_OTHER_MARKET",
        Error::CountersCannotShrink(_) => "COUNTERS_CANNOT_SHRINK",
        Error::QuantityLimit { .. } => "QUANTITY_LIMIT",
        Error::TooManyUnpaidOrders(_) => "TOO_MANY_UNPAID_ORDERS",
        Error::AmountOutOfRange { .. } => "AMOUNT_OUT_OF_RANGE",
        Error::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
        Error::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
        Error::InvalidSignature => "INVALID_SIGNATURE",
        Error::EventOutOfOrder(_) => "EVENT_OUT_OF_ORDER",
        Error::NotPurchased => "NOT_PURCHASED",
        Error::AlreadyReviewed => "ALREADY_REVIEWED",
        Error::TooManyEvents(_) => "TOO_MANY_EVENTS",
        Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
        Error::Internal(_) => "INTERNAL",
    }
}

/// The one mapping from errors to HTTP: status, title, and extensions.
pub fn problem(err: &Error) -> Response {
    let (status, title) = match err {
        Error::Validation(_) => (StatusCode::BAD_REQUEST, "Validation failed"),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "Authentication required"),
        Error::InvalidCredentials => (StatusCode::UNAUTHORIZED, "Invalid credentials"),
        Error::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
        Error::NotFound => (StatusCode::NOT_FOUND, "Not found"),
        Error::EmailTaken => (StatusCode::CONFLICT, "Email taken"),
        Error::InvalidToken => (StatusCode::BAD_REQUEST, "Invalid token"),
        Error::EmailNotVerified => (StatusCode::CONFLICT, "Email not verified"),
        Error::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts"),
        Error::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"),
        Error::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
        Error::OutOfStock(_) => (StatusCode::CONFLICT, "Out of stock"),
        Error::ProductUnavailable(..) => (StatusCode::CONFLICT, "Product unavailable"),
        Error::NotShippable(_) => (StatusCode::CONFLICT, "Not shippable"),
        Error::CartEmpty => (StatusCode::CONFLICT, "Cart empty"),
        Error::CartFull(_) => (StatusCode::CONFLICT, "Cart full"),
        Error::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "Precondition failed"),
        Error::PriceChanged(_) => (StatusCode::CONFLICT, "Price changed"),
        Error::CouponNotApplicable { .. } => (StatusCode::CONFLICT, "Coupon not applicable"),
        Error::CodeTaken(_) => (StatusCode::CONFLICT, "Code taken"),
        Error::InvalidState(_) | Error::DefaultMarketStays => (StatusCode::CONFLICT, "Invalid state"),
        Error::CountryInOtherMarket { .. } => (StatusCode::CONFLICT, "Country in another market"),
        Error::CountersCannotShrink(_) => (StatusCode::CONFLICT, "Counters cannot shrink"),
        Error::QuantityLimit { .. } => (StatusCode::CONFLICT, "Quantity limit"),
        Error::TooManyUnpaidOrders(_) => (StatusCode::CONFLICT, "Too many unpaid orders"),
        Error::AmountOutOfRange { .. } => (StatusCode::CONFLICT, "Amount out of range"),
        Error::IdempotencyInProgress => (StatusCode::CONFLICT, "Request in progress"),
        Error::IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency key reused"),
        Error::InvalidSignature => (StatusCode::BAD_REQUEST, "Invalid signature"),
        Error::EventOutOfOrder(_) => (StatusCode::CONFLICT, "Event out of order"),
        Error::NotPurchased => (StatusCode::FORBIDDEN, "Not purchased"),
        Error::AlreadyReviewed => (StatusCode::CONFLICT, "Already reviewed"),
        Error::TooManyEvents(_) => (StatusCode::CONFLICT, "Too many tracking events"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    };
    let detail = match err {
        Error::Internal(_) => "An unexpected error occurred.".to_owned(),
        Error::Unavailable(_) => "A service the shop depends on is unavailable; retry shortly.".to_owned(),
        other => format!("{}.", capitalise(&other.to_string())),
    };
    let mut body = Map::new();
    body.insert("type".into(), json!("about:blank"));
    body.insert("title".into(), json!(title));
    body.insert("status".into(), json!(status.as_u16()));
    body.insert("code".into(), json!(code(err)));
    body.insert("detail".into(), json!(detail));
    match err {
        Error::Validation(errors) => {
            body.insert("errors".into(), json!(errors));
        }
        Error::OutOfStock(items) => {
            body.insert("items".into(), json!(items));
        }
        Error::ProductUnavailable(product_id, reason) => {
            body.insert("product_id".into(), json!(product_id));
            body.insert("reason".into(), json!(reason));
        }
        Error::NotShippable(reason) => {
            body.insert("reason".into(), json!(reason));
        }
        Error::CartFull(max) => {
            body.insert("max".into(), json!(max));
        }
        Error::PriceChanged(cart) => {
            body.insert("cart".into(), (**cart).clone());
        }
        Error::CouponNotApplicable { coupon, reason } => {
            body.insert("coupon".into(), json!(coupon));
            body.insert("reason".into(), json!(reason));
        }
        Error::QuantityLimit { product_id, max } => {
            body.insert("product_id".into(), json!(product_id));
            body.insert("max".into(), json!(max));
        }
        Error::TooManyUnpaidOrders(max) => {
            body.insert("max".into(), json!(max));
        }
        Error::CountryInOtherMarket { country, market } => {
            body.insert("country".into(), json!(country));
            body.insert("market".into(), json!(market));
        }
        Error::AmountOutOfRange { min, max } => {
            body.insert("min".into(), json!(min));
            body.insert("max".into(), json!(max));
        }
        Error::CountersCannotShrink(counters) => {
            body.insert("stock_counters".into(), json!(counters));
        }
        // The contract: with INVALID_STATE, `status` holds the order's current
        // status (the HTTP status is on the response line).
        Error::InvalidState(status) => {
            body.insert("status".into(), json!(status));
        }
        _ => {}
    }
    let mut response = with_json(status, "application/problem+json", &body);
    let headers = response.headers_mut();
    match err {
        Error::Unauthenticated | Error::InvalidCredentials => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::TooManyAttempts { retry_after_secs } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        Error::Unavailable(_) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        _ => {}
    }
    response
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response) -> Value {
        serde_json::from_slice(response.body().as_ref()).expect("json body")
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/auth/register");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        Request::new(builder.body(Body::Text(body.to_owned())).expect("request"))
    }

    #[test]
    fn problems_carry_status_code_and_headers() {
        let response = problem(&Error::Unauthenticated);
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body = body_json(&response);
        assert_eq!(body["code"], "UNAUTHENTICATED");
        assert_eq!(body["type"], "about:blank");

        let response = problem(&Error::TooManyAttempts { retry_after_secs: 42 });
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "42");

        // A state the request cannot change by its form: 409, not 400.
        let response = problem(&Error::CountersCannotShrink(4));
        assert_eq!(response.status(), 409);
        let body = body_json(&response);
        assert_eq!(
            (body["code"].as_str(), body["stock_counters"].as_u64()),
            (Some("COUNTERS_CANNOT_SHRINK"), Some(4))
        );
    }

    #[test]
    fn only_public_answers_may_be_cached() {
        let private = respond(ok(&json!({"access_token": "t"})));
        assert_eq!(private.headers()["cache-control"], "no-store");
        assert_eq!(respond(no_content()).headers()["cache-control"], "no-store");
        assert_eq!(
            respond(Err(Error::Unauthenticated)).headers()["cache-control"],
            "no-store"
        );
        let public = respond(ok_public(&json!({"items": []})));
        assert_eq!(
            public.headers()["cache-control"],
            format!("public, max-age={PUBLIC_MAX_AGE_SECS}")
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = problem(&Error::internal("table shop-secret exploded"));
        assert_eq!(response.status(), 500);
        assert!(!String::from_utf8_lossy(response.body().as_ref()).contains("shop-secret"));
    }

    #[test]
    fn validation_problems_list_fields() {
        let body = body_json(&problem(&Error::invalid("email", "is required")));
        assert_eq!(
            body["errors"],
            json!([{"field": "email", "message": "is required"}])
        );
    }

    #[derive(Debug)]
    struct Anything;
    impl FromJson for Anything {
        fn from_json(_: Value, _: &str, _: &mut crate::foundation::input::Errors) -> Option<Self> {
            Some(Self)
        }
    }

    #[test]
    fn bodies_must_be_small_json() {
        assert!(matches!(
            request(None, "{}").json::<Anything>(),
            Err(Error::UnsupportedMediaType)
        ));
        assert!(matches!(
            request(Some("text/plain"), "{}").json::<Anything>(),
            Err(Error::UnsupportedMediaType)
        ));
        assert!(
            request(Some("Application/JSON; charset=utf-8"), "{}")
                .json::<Anything>()
                .is_ok()
        );
        let big = format!("\"{}\"", "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            request(Some("application/json"), &big).json::<Anything>(),
            Err(Error::PayloadTooLarge { .. })
        ));
        assert!(matches!(
            request(Some("application/json"), "{nope").json::<Anything>(),
            Err(Error::Validation(_))
        ));
    }
}
