//! End to end: every row of the contract's "Users" (but reviews) and the error
//! conventions, through the local gateway and the real function binaries.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shop_tests::fixtures::address;
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Api, require_env, unique};

fn email() -> String {
    format!("{}@example.com", unique("e2e"))
}

#[tokio::test]
async fn register_login_read_update_and_change_password() {
    let api = Api::from_env();
    let email = email();
    let registered = api
        .post(
            "/auth/register",
            None,
            json!({"email": format!("  {}  ", email.to_uppercase()), "password": "correct horse battery", "name": "Ann"}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::ACCEPTED, "{}", registered.text);
    assert_eq!(registered.header("content-type"), Some("application/json"));
    assert_eq!(registered.body, json!({"status": "verification_sent"}));

    let login = api.login(&email, "correct horse battery").await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "login works before verification: {}",
        login.text
    );
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 3600);
    let user = &login.body["user"];
    assert_eq!(user["email"], email);
    assert_eq!(user["role"], "customer");
    assert_eq!(user["address"], Value::Null);
    assert_eq!(user["verified"], false);
    let mut keys: Vec<_> = user.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["address", "created_at", "email", "id", "name", "role", "verified"]
    );
    assert!(
        !login.text.contains("argon2"),
        "no password material in responses"
    );
    let token = login.body["access_token"].as_str().expect("token").to_owned();

    // Not verified yet: no order.
    let product = api.product(&api.admin().await, &unique("verify"), 1200, 5).await;
    let order =
        json!({"items": [{"product_id": product["id"], "quantity": 1}], "shipping_address": address()});
    api.post("/orders", Some(&token), order.clone())
        .await
        .assert_problem(409, "EMAIL_NOT_VERIFIED");
    api.verify(&email).await;
    let verified_token = api.emailed_token(&email, "Confirm your email address").await;
    api.post("/auth/verify", None, json!({"token": verified_token}))
        .await
        .assert_problem(400, "INVALID_TOKEN");
    let placed = api.post("/orders", Some(&token), order).await;
    assert_eq!(
        placed.status,
        StatusCode::CREATED,
        "the same token, verified now: {}",
        placed.text
    );

    let me = api.get("/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["verified"], true);
    // Authenticated answers are never kept by a browser or a shared cache.
    for reply in [&login, &me] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{}", reply.text);
    }

    let patched = api
        .send(
            Method::PATCH,
            "/users/me",
            Some(&token),
            Some(json!({"name": "Ann Smith", "address": address()})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["name"], "Ann Smith");
    assert_eq!(patched.body["address"], address());
    assert_eq!(api.get("/users/me", Some(&token)).await.body, patched.body);

    let cleared = api
        .send(
            Method::PATCH,
            "/users/me",
            Some(&token),
            Some(json!({"address": null})),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.body["address"], Value::Null);
    assert_eq!(cleared.body["name"], "Ann Smith");

    let changed = api
        .send(
            Method::PUT,
            "/users/me/password",
            Some(&token),
            Some(json!({"current_password": "correct horse battery", "new_password": "an even better password"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert!(changed.text.is_empty());
    api.login(&email, "correct horse battery")
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    let relogin = api.login(&email, "an even better password").await;
    assert_eq!(relogin.status, StatusCode::OK);
    // The change revokes every token issued before it (a stolen one too):
    // it moves the user's token version on; the new login's token works.
    let revoked = api.get("/users/me", Some(&token)).await;
    revoked.assert_problem(401, "UNAUTHENTICATED");
    let fresh = relogin.body["access_token"].as_str().expect("token");
    assert_eq!(api.get("/users/me", Some(fresh)).await.status, StatusCode::OK);
}

/// A second sign-up with an email answers as a first one (so sign-up
/// tells no one which emails have accounts): the account is untouched and
/// its owner gets a notice.
#[tokio::test]
async fn a_second_account_for_an_email_answers_alike_and_tells_the_owner() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let again = api
        .post(
            "/auth/register",
            None,
            json!({"email": customer.email.to_uppercase(), "password": "another password!", "name": "Bob"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    assert_eq!(again.body, json!({"status": "verification_sent"}));
    let notice = api
        .email(
            &customer.email,
            "Someone tried to sign up with your email address",
        )
        .await;
    assert!(
        notice["BodyText"]
            .as_str()
            .is_some_and(|text| text.contains("/reset-password")),
        "{notice}"
    );
    api.login(&customer.email, "another password!")
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    let login = api.login(&customer.email, &customer.password).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["name"], "Test Customer");
}

/// A forgotten password: the reset link by email sets a new one once,
/// revokes the tokens before it, and an unknown email answers alike.
#[tokio::test]
async fn a_password_reset_by_email_works_once() {
    let api = Api::from_env();
    let customer = api.customer().await;
    for email in [customer.email.as_str(), &email()] {
        let asked = api
            .post("/auth/password-reset", None, json!({"email": email}))
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
        assert_eq!(asked.body, json!({"status": "reset_sent"}));
    }
    let token = api.emailed_token(&customer.email, "Reset your password").await;
    let confirm = json!({"token": token, "new_password": "a brand new password 1"});
    let done = api
        .post("/auth/password-reset/confirm", None, confirm.clone())
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    api.get("/users/me", Some(&customer.token))
        .await
        .assert_problem(401, "UNAUTHENTICATED");
    api.post("/auth/password-reset/confirm", None, confirm)
        .await
        .assert_problem(400, "INVALID_TOKEN");
    api.login(&customer.email, &customer.password)
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    let login = api.login(&customer.email, "a brand new password 1").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
}

#[tokio::test]
async fn registration_names_every_bad_field() {
    let api = Api::from_env();
    let reply = api
        .post(
            "/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "name": 7, "role": "admin"}),
        )
        .await;
    reply.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(reply.error_fields(), ["email", "password", "name", "role"]);
    assert!(
        !reply.text.contains("short"),
        "the password is not echoed: {}",
        reply.text
    );

    let missing = api.post("/auth/register", None, json!({})).await;
    assert_eq!(missing.error_fields(), ["email", "password", "name"]);
    let long_name = api
        .post(
            "/auth/register",
            None,
            json!({"email": email(), "password": "correct horse battery", "name": "x".repeat(101)}),
        )
        .await;
    assert_eq!(long_name.error_fields(), ["name"]);
}

#[tokio::test]
async fn bodies_must_be_json_of_at_most_64_kib() {
    let api = Api::from_env();
    let not_json = api
        .read(
            api.request(Method::POST, "/auth/register")
                .header("content-type", "text/plain")
                .body("email=a@b.co"),
        )
        .await;
    not_json.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    let no_type = api
        .read(api.request(Method::POST, "/auth/login").body("{}"))
        .await;
    no_type.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");

    let huge = json!({"email": email(), "password": "correct horse battery", "name": "x".repeat(70 * 1024)});
    let too_large = api.post("/auth/register", None, huge).await;
    too_large.assert_problem(413, "PAYLOAD_TOO_LARGE");

    let malformed = api
        .read(
            api.request(Method::POST, "/auth/login")
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    malformed.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(malformed.error_fields(), ["body"]);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let wrong = api.login(&customer.email, "wrong horse battery").await;
    let unknown = api.login(&email(), "wrong horse battery").await;
    wrong.assert_problem(401, "INVALID_CREDENTIALS");
    unknown.assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn repeated_failures_lock_the_login_with_retry_after() {
    let api = Api::from_env();
    let customer = api.customer().await;
    for attempt in 1..=5 {
        let reply = api.login(&customer.email, "wrong horse battery").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            reply.text
        );
    }
    let locked = api.login(&customer.email, &customer.password).await;
    locked.assert_problem(429, "TOO_MANY_ATTEMPTS");
    let retry_after: u64 = locked
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // The token issued before the lockout still works: the lock is on logins.
    assert_eq!(
        api.get("/users/me", Some(&customer.token)).await.status,
        StatusCode::OK
    );
}

/// Signs a token by hand (HS256 over whatever header and claims), so that
/// the tests can forge exactly what an attacker would send.
fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{head}.{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{signature}")
}

/// The launch review's collision: an "email" ending in `#<address>` once
/// counted its failures in the victim's own window at that address, so a
/// stranger could lock the victim out where they log in. Such an email is
/// refused before anything is counted, and the victim still logs in.
#[tokio::test]
async fn an_email_shaped_like_another_key_cannot_lock_its_victim_out() {
    let api = Api::from_env();
    let victim = email();
    let registered = api
        .post(
            "/auth/register",
            None,
            json!({"email": victim, "password": "correct horse battery", "name": "Vic"}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::ACCEPTED, "{}", registered.text);
    // The addresses the local gateway and the deployed API report.
    for address in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
        for _ in 0..6 {
            api.login(&format!("{victim}#{address}"), "wrong password 123")
                .await
                .assert_problem(400, "VALIDATION_FAILED");
        }
    }
    let login = api.login(&victim, "correct horse battery").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_with_www_authenticate() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let secret = require_env("JWT_SECRET");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims =
        |exp: i64, role: &str| json!({"sub": customer.id, "role": role, "iat": now - 10, "exp": exp});

    let valid = forge(
        json!({"alg": "HS256", "typ": "JWT"}),
        claims(now + 600, "customer"),
        secret.as_bytes(),
    );
    assert_eq!(
        api.get("/users/me", Some(&valid)).await.status,
        StatusCode::OK,
        "the forging itself is right"
    );

    let mut tampered_parts: Vec<String> = customer.token.split('.').map(str::to_owned).collect();
    tampered_parts[1] = URL_SAFE_NO_PAD.encode(claims(now + 600, "admin").to_string());
    let cases = [
        ("no header", None),
        ("malformed", Some("not-a-jwt".to_owned())),
        ("tampered", Some(tampered_parts.join("."))),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims(now + 600, "admin").to_string())
            )),
        ),
        (
            "expired",
            Some(forge(
                json!({"alg": "HS256"}),
                claims(now - 1, "customer"),
                secret.as_bytes(),
            )),
        ),
        (
            "other key",
            Some(forge(
                json!({"alg": "HS256"}),
                claims(now + 600, "customer"),
                b"another-secret-another-secret-12",
            )),
        ),
    ];
    for (name, token) in cases {
        let reply = api.get("/users/me", token.as_deref()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}: {}", reply.text);
        reply.assert_problem(401, "UNAUTHENTICATED");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{name}");
    }
    let basic = api
        .read(
            api.request(Method::GET, "/users/me")
                .header("authorization", format!("Basic {}", customer.token)),
        )
        .await;
    basic.assert_problem(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn profile_patches_are_strict() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());
    let mut bad_address = address();
    bad_address["country"] = json!("Germany");
    bad_address["line1"] = json!("");
    let reply = api
        .send(
            Method::PATCH,
            "/users/me",
            token,
            Some(json!({"address": bad_address, "role": "admin", "email": "x@y.zz"})),
        )
        .await;
    reply.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(
        reply.error_fields(),
        ["address.line1", "address.country", "email", "role"]
    );
    let null_name = api
        .send(Method::PATCH, "/users/me", token, Some(json!({"name": null})))
        .await;
    assert_eq!(null_name.error_fields(), ["name"]);
    let me = api.get("/users/me", token).await;
    assert_eq!(me.body["role"], "customer", "nothing changed");
    assert_eq!(me.body["name"], "Test Customer");
    let unauthenticated = api
        .send(Method::PATCH, "/users/me", None, Some(json!({"name": "X"})))
        .await;
    unauthenticated.assert_problem(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let api = Api::from_env();
    let customer = api.customer().await;
    let token = Some(customer.token.as_str());
    let wrong = api
        .send(
            Method::PUT,
            "/users/me/password",
            token,
            Some(json!({"current_password": "not the password", "new_password": "a brand new password"})),
        )
        .await;
    wrong.assert_problem(401, "INVALID_CREDENTIALS");
    let weak = api
        .send(
            Method::PUT,
            "/users/me/password",
            token,
            Some(json!({"current_password": customer.password, "new_password": "short"})),
        )
        .await;
    weak.assert_problem(400, "VALIDATION_FAILED");
    assert_eq!(weak.error_fields(), ["new_password"]);
    assert_eq!(
        api.login(&customer.email, &customer.password).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_routes_are_problem_404s() {
    let api = Api::from_env();
    api.get("/no/such/route", None)
        .await
        .assert_problem(404, "NOT_FOUND");
    api.send(Method::DELETE, "/users/me", None, None)
        .await
        .assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn shopctl_creates_admins_who_log_in_as_admin() {
    let api = Api::from_env();
    let email = email();
    let output = std::process::Command::new(require_env("SHOPCTL"))
        .args(["--env-file", "none", "create-admin", "--email", &email])
        .args(["--password", "admin password 123", "--name", "Operator"])
        .output()
        .expect("run shopctl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("the user as JSON");
    assert_eq!(printed["role"], "admin");
    assert_eq!(printed["email"], email);

    let login = api.login(&email, "admin password 123").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.body["user"]["role"], "admin");
    assert_eq!(login.body["user"]["id"], printed["id"]);
}
