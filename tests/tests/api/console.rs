//! End to end: the admin console's files, served by the `admin-console`
//! function under `/admin/` beside the back office's API routes (the
//! browser tests in `console/tests` use them; these check what a browser
//! is given).

use shop_tests::Api;
use shop_tests::reqwest::StatusCode;

#[tokio::test]
async fn the_console_is_served_under_a_strict_policy_beside_the_admin_api() {
    let api = Api::from_env();
    // `/admin` redirects into the console's folder (decision 74); the
    // client follows it to the page.
    let page = api.get("/admin", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let policy = page.header("content-security-policy").expect("a policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    // Every script and style the page loads is served, kept for a year.
    let assets: Vec<&str> = page
        .text
        .split(['"', '\''])
        .filter(|part| part.starts_with("./assets/"))
        .collect();
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{}", page.text);
    for asset in assets {
        let file = api.get(&asset.replacen('.', "/admin", 1), None).await;
        assert_eq!(file.status, StatusCode::OK, "{asset}");
        assert_eq!(
            file.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(!file.text.is_empty());
    }

    // Nothing else under /admin/ is a file; the API's routes stay the API's.
    for missing in [
        "/admin/assets/none.js",
        "/admin/.env",
        "/admin/assets/%2e%2e/Cargo.toml",
    ] {
        api.get(missing, None).await.assert_problem(404, "NOT_FOUND");
    }
    api.get("/admin/orders", None)
        .await
        .assert_problem(401, "UNAUTHENTICATED");
}
