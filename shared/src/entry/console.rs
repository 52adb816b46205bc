//! The admin console (`console/`, a static single-page app) as HTTP answers:
//! which built file a path under `/admin/` names, and the headers a browser
//! gets with it. The files themselves are compiled into the `admin-console`
//! function.

use std::borrow::Cow;

use lambda_http::Body;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};

use crate::entry::http::{Answer, Response};
use crate::foundation::error::Error;

/// The console loads only its own files and talks only to this API: no
/// inline script or style, no frames, no other origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Where `GET /admin` sends the browser, relative to `/admin`: the page
/// inside the console's folder, whose files it loads relative to its own
/// URL, so it works under any path prefix the API is served at. (Not
/// `admin/`: MiniStack's API Gateway hands `/admin/` to the function as
/// `/admin`, which would redirect again.)
pub const PAGE: &str = "admin/index.html";

/// `308` to [`PAGE`]: the console's address without its folder's slash.
pub fn to_page() -> Answer {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(PAGE));
    Ok(response)
}

/// The built file `path` (what follows `/admin/`) names: the page itself
/// for the console's root, its path otherwise. A path that climbs out of
/// the build (`..`) or names a hidden file names nothing.
pub fn file_name(path: Option<&str>) -> Option<&str> {
    let path = path.unwrap_or_default().trim_start_matches('/');
    if path.is_empty() || path == "index.html" {
        return Some("index.html");
    }
    let safe = path
        .split('/')
        .all(|part| !part.is_empty() && !part.starts_with('.') && !part.contains('\\'));
    safe.then_some(path)
}

/// The answer carrying one built file. The build names every asset by its
/// content's hash (`assets/index-<hash>.js`), so assets are kept for a year;
/// the page itself is revalidated on every load so a deployment shows at once.
pub fn file(name: &str, bytes: Cow<'static, [u8]>, content_type: &str) -> Answer {
    let text = content_type.starts_with("text/")
        || content_type.contains("javascript")
        || content_type.contains("json");
    let body = match (text, bytes) {
        (true, Cow::Borrowed(bytes)) => std::str::from_utf8(bytes).map(|s| Body::Text(s.to_owned())).ok(),
        (true, Cow::Owned(bytes)) => String::from_utf8(bytes).map(Body::Text).ok(),
        (false, bytes) => Some(Body::Binary(bytes.into_owned())),
    }
    .ok_or_else(|| Error::internal(format!("{name} is not UTF-8")))?;
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, cache),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        let value = HeaderValue::from_str(value).map_err(Error::internal)?;
        headers.insert(name, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_page_and_nothing_leaves_the_build() {
        for root in [None, Some(""), Some("/"), Some("index.html")] {
            assert_eq!(file_name(root), Some("index.html"));
        }
        assert_eq!(
            file_name(Some("assets/index-1a2b.js")),
            Some("assets/index-1a2b.js")
        );
        for bad in [
            "../Cargo.toml",
            "assets/../../x",
            ".env",
            "assets/.hidden",
            "a//b",
            "a\\b",
        ] {
            assert_eq!(file_name(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_console_root_redirects_into_its_folder() {
        let moved = to_page().expect("redirect");
        assert_eq!(moved.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(moved.headers()[header::LOCATION], "admin/index.html");
    }

    #[test]
    fn assets_are_kept_and_the_page_is_revalidated_under_a_strict_policy() {
        let page = file("index.html", Cow::Borrowed(b"<!doctype html>"), "text/html").expect("page");
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(
            page.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(page.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(matches!(page.body(), Body::Text(text) if text == "<!doctype html>"));
        let script = file("assets/a-1.js", Cow::Borrowed(b"1"), "text/javascript").expect("script");
        assert_eq!(
            script.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let icon = file("assets/i-1.png", Cow::Owned(vec![0x89, 0x50]), "image/png").expect("icon");
        assert!(matches!(icon.body(), Body::Binary(bytes) if bytes == &[0x89, 0x50]));
        assert!(file("x.js", Cow::Borrowed(&[0xff]), "text/javascript").is_err());
    }
}
