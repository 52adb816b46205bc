//! HttpApi emulation: route matching, and the translation between HTTP and
//! API Gateway HTTP API (payload v2) events.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as EventBody;
use aws_lambda_events::query_map::QueryMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;

use crate::template::{DEFAULT_ROUTE, Event, Function};

/// One HttpApi route of one function.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub binary: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`, last: the rest of the path, one segment or more.
    Greedy(String),
}

impl Route {
    pub fn route_key(&self) -> String {
        if self.path == DEFAULT_ROUTE {
            return DEFAULT_ROUTE.to_owned();
        }
        format!("{} {}", self.method, self.path)
    }

    fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }

    fn is_greedy(&self) -> bool {
        matches!(self.segments.last(), Some(Segment::Greedy(_)))
    }

    fn capture(&self, parts: &[&str]) -> Option<HashMap<String, String>> {
        let fits = if self.is_greedy() {
            parts.len() >= self.segments.len()
        } else {
            parts.len() == self.segments.len()
        };
        if !fits {
            return None;
        }
        let mut params = HashMap::new();
        for (at, (segment, part)) in self.segments.iter().zip(parts).enumerate() {
            match segment {
                Segment::Greedy(name) => {
                    let rest = parts[at..].join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    let decoded = percent_encoding::percent_decode_str(&rest).decode_utf8().ok()?;
                    params.insert(name.clone(), decoded.into_owned());
                }
                Segment::Literal(literal) if literal == part => {}
                Segment::Param(name) if !part.is_empty() => {
                    let decoded = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
                    params.insert(name.clone(), decoded.into_owned());
                }
                _ => return None,
            }
        }
        Some(params)
    }
}

fn split(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

/// The routes of a template, most specific first, and its `$default`
/// route if it has one.
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    default: Option<Route>,
}

impl Router {
    pub fn new(functions: &[Function]) -> Self {
        let mut routes: Vec<Route> = functions
            .iter()
            .flat_map(|function| {
                function.events.iter().filter_map(|event| match event {
                    Event::Http { method, path } => Some(Route {
                        method: method.clone(),
                        path: path.clone(),
                        binary: function.binary.clone(),
                        segments: split(path)
                            .into_iter()
                            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                                Some(name) => match name.strip_suffix('+') {
                                    Some(name) => Segment::Greedy(name.to_owned()),
                                    None => Segment::Param(name.to_owned()),
                                },
                                None => Segment::Literal(s.to_owned()),
                            })
                            .collect(),
                    }),
                    _ => None,
                })
            })
            .collect();
        let default = routes
            .iter()
            .position(|route| route.path == DEFAULT_ROUTE)
            .map(|at| routes.remove(at));
        // A literal segment beats a parameter, and any route beats a greedy
        // one (`{name+}`), as in API Gateway.
        routes.sort_by_key(|route| (route.is_greedy(), std::cmp::Reverse(route.literal_count())));
        Self { routes, default }
    }

    /// The routes with a method and a path (not `$default`).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route serving `method path`, with its path parameters.
    pub fn find(&self, method: &Method, path: &str) -> Option<(&Route, HashMap<String, String>)> {
        let parts = split(path);
        self.routes
            .iter()
            .filter(|route| route.method == "ANY" || route.method == method.as_str())
            .find_map(|route| route.capture(&parts).map(|params| (route, params)))
            .or_else(|| self.default.as_ref().map(|route| (route, HashMap::new())))
    }
}

/// Whether API Gateway would pass a body of this type as text.
fn is_textual(content_type: Option<&HeaderValue>) -> bool {
    let Some(content_type) = content_type.and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let media = content_type.to_ascii_lowercase();
    media.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded"]
            .iter()
            .any(|kind| media.contains(kind))
}

/// Builds the event API Gateway would send for this request.
pub fn to_event(
    route: &Route,
    path_parameters: HashMap<String, String>,
    parts: &http::request::Parts,
    body: &Bytes,
    host: &str,
    request_id: &str,
) -> ApiGatewayV2httpRequest {
    let now = time::OffsetDateTime::now_utc();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();

    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    // Payload v2 joins repeated parameters with commas.
    let query: HashMap<String, String> = query.into_iter().map(|(k, v)| (k, v.join(","))).collect();

    // Payload v2 lower-cases names, joins repeated headers with commas, and
    // moves cookies to their own list.
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(|c| c.trim().to_owned()),
            );
        } else if let Ok(joined) = HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), joined);
        }
    }

    let (body, is_base64_encoded) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, false),
        Ok(text) if is_textual(parts.headers.get(header::CONTENT_TYPE)) => (Some(text.to_owned()), false),
        _ => (Some(BASE64.encode(body)), true),
    };

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some("127.0.0.1".into());
    http.user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.route_key());
    context.account_id = Some("123456789012".into());
    context.stage = Some("$default".into());
    context.request_id = Some(request_id.to_owned());
    context.apiid = Some("local".into());
    context.domain_name = Some(host.to_owned());
    context.domain_prefix = Some(host.split('.').next().unwrap_or(host).to_owned());
    context.time_epoch = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    context.time = Some(now.to_string());
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route.route_key());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = QueryMap::from(query);
    event.path_parameters = path_parameters;
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// Turns a function's payload v2 response back into HTTP.
pub fn from_response(response: ApiGatewayV2httpResponse) -> Response<Full<Bytes>> {
    let body = match response.body {
        None => Bytes::new(),
        Some(EventBody::Empty) => Bytes::new(),
        Some(EventBody::Text(text)) if response.is_base64_encoded => BASE64
            .decode(text.as_bytes())
            .map(Bytes::from)
            .unwrap_or_default(),
        Some(EventBody::Text(text)) => Bytes::from(text),
        Some(EventBody::Binary(bytes)) => Bytes::from(bytes),
        Some(_) => Bytes::new(),
    };
    let status = u16::try_from(response.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::new(Full::new(body));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for (name, value) in response.headers.iter().chain(response.multi_value_headers.iter()) {
        headers.append(name.clone(), value.clone());
    }
    for cookie in response.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    out
}

/// A problem+json answer of the gateway itself (no route, function failed).
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    let mut out = Response::new(Full::new(Bytes::from(body.to_string())));
    *out.status_mut() = status;
    out.headers_mut().insert(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/problem+json"),
    );
    out
}

/// A problem a client should retry after a second (`Retry-After: 1`).
pub fn retry_later(status: StatusCode, code: &str, detail: &str) -> Response<Full<Bytes>> {
    let mut out = problem(status, code, detail);
    out.headers_mut().insert(
        HeaderName::from_static("retry-after"),
        HeaderValue::from_static("1"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    fn router() -> Router {
        let template = Template::parse(
            r#"
Resources:
  Get:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: users-get } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: "/users/{id}" } } } }
  Me:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: users-get-me } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: /users/me } } } }
"#,
        )
        .expect("template");
        Router::new(&template.functions)
    }

    #[test]
    fn literal_routes_win_and_parameters_are_decoded() {
        let router = router();
        let (route, params) = router.find(&Method::GET, "/users/me").expect("route");
        assert_eq!(route.binary, "users-get-me");
        assert!(params.is_empty());
        let (route, params) = router.find(&Method::GET, "/users/a%20b").expect("route");
        assert_eq!(route.binary, "users-get");
        assert_eq!(params["id"], "a b");
        assert!(router.find(&Method::POST, "/users/me").is_none());
        assert!(router.find(&Method::GET, "/users/me/extra").is_none());
    }

    #[test]
    fn a_greedy_route_takes_the_rest_of_the_path_after_every_other_route() {
        let template = Template::parse(
            r#"
Resources:
  Files:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: admin-console } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: "/admin/{path+}" } } } }
  Orders:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: admin-orders-list } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: /admin/orders } } } }
  Customer:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: admin-customers-get } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: "/admin/customers/{id}" } } } }
"#,
        )
        .expect("template");
        let router = Router::new(&template.functions);
        let binary = |path: &str| {
            router
                .find(&Method::GET, path)
                .map(|(route, _)| route.binary.clone())
        };
        assert_eq!(binary("/admin/orders").as_deref(), Some("admin-orders-list"));
        assert_eq!(
            binary("/admin/customers/7").as_deref(),
            Some("admin-customers-get")
        );
        let (route, params) = router
            .find(&Method::GET, "/admin/assets/a%20b.js")
            .expect("route");
        assert_eq!(route.binary, "admin-console");
        assert_eq!(params["path"], "assets/a b.js");
        assert_eq!(
            binary("/admin/customers/7/more").as_deref(),
            Some("admin-console")
        );
        assert_eq!(
            binary("/admin"),
            None,
            "a greedy parameter takes one segment or more"
        );
    }

    #[test]
    fn what_no_route_matches_goes_to_the_default_route() {
        let template = Template::parse(
            r#"
Resources:
  Me:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: users-get-me } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { Method: GET, Path: /users/me } } } }
  Rest:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: not-found } }
    Properties: { Events: { A: { Type: HttpApi, Properties: { ApiId: api } } } }
"#,
        )
        .expect("template");
        let router = Router::new(&template.functions);
        assert_eq!(router.routes().len(), 1, "$default is not among the routes");
        let (route, _) = router.find(&Method::GET, "/users/me").expect("route");
        assert_eq!(route.binary, "users-get-me");
        for (method, path) in [(Method::POST, "/users/me"), (Method::GET, "/no/such/route")] {
            let (route, params) = router.find(&method, path).expect("the default route");
            assert_eq!(route.binary, "not-found");
            assert_eq!(route.route_key(), "$default");
            assert!(params.is_empty());
        }
    }

    #[test]
    fn builds_payload_v2_events() {
        let router = router();
        let (route, params) = router.find(&Method::GET, "/users/42").expect("route");
        let request = http::Request::builder()
            .method("GET")
            .uri("/users/42?a=1&a=2&b=x%20y")
            .header("X-Thing", "one")
            .header("x-thing", "two")
            .header("cookie", "s=1; t=2")
            .header("content-type", "application/octet-stream")
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        let event = to_event(
            route,
            params,
            &parts,
            &Bytes::from_static(&[0xff, 0x00]),
            "127.0.0.1:3000",
            "r1",
        );
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["routeKey"], "GET /users/{id}");
        assert_eq!(json["pathParameters"]["id"], "42");
        assert_eq!(json["queryStringParameters"]["a"], "1,2");
        assert_eq!(json["queryStringParameters"]["b"], "x y");
        assert_eq!(json["headers"]["x-thing"], "one,two");
        assert_eq!(json["cookies"], serde_json::json!(["s=1", "t=2"]));
        assert_eq!(json["isBase64Encoded"], true);
        assert_eq!(json["body"], "/wA=");
        assert_eq!(json["requestContext"]["http"]["method"], "GET");
    }
}
