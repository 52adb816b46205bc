//! Verified accounts and password resets, end to end through the outbox:
//! the link arrives by email (as the emulator's SES lists it), works once,
//! expires, and a reset revokes what came before it.

use serde_json::json;
use shared::Error;
use shared::foundation::clock::Timestamp;
use shared::foundation::input::parse_document;
use shared::model::accounts::{self, Purpose, TokenRecord};
use shared::model::auth::{self, Principal};
use shared::model::users::{ClientAddress, Email, MAX_LOGIN_FAILURES};
use shared::usecases::users;
use shop_tests::{Outbox, TEST_ACCOUNT_TOKEN_SECRET, TestApp, unique};

const PASSWORD: &str = "correct horse battery";

fn here() -> ClientAddress {
    ClientAddress::parse(Some("192.0.2.44"))
}

fn somewhere() -> ClientAddress {
    ClientAddress::parse(Some(&format!(
        "198.18.{}.{}",
        fastrand::u8(..),
        fastrand::u8(1..255)
    )))
}

async fn sign_up(t: &TestApp, email: &str) {
    let input =
        parse_document(json!({"email": email, "password": PASSWORD, "name": "Ann Smith"})).expect("valid");
    let sent = users::register(&t.app, input, &somewhere(), None)
        .await
        .expect("answered");
    assert_eq!(sent.status, "verification_sent");
}

async fn login(t: &TestApp, email: &str, password: &str) -> Result<users::Session, Error> {
    let input = parse_document(json!({"email": email, "password": password})).expect("valid");
    users::login(&t.app, input, &here()).await
}

/// The caller as a request of theirs sees them (the token and its check).
async fn caller(t: &TestApp, session: &users::Session) -> Principal {
    let principal = auth::verify_token(&t.secret(), &session.access_token).expect("a valid token");
    let (_, verified) = t.app.store.token_version(&principal.user_id).await.expect("read");
    Principal {
        verified,
        ..principal
    }
}

/// The tokens in the emails to `to` whose subject is `subject`, oldest
/// first, after the notifier sent what the stream holds.
async fn tokens_in(t: &TestApp, outbox: &Outbox, to: &str, subject: &str) -> Vec<String> {
    let delivered = outbox.deliver(&t.app).await;
    assert!(
        delivered.iter().all(|r| r.batch_item_failures.is_empty()),
        "{delivered:?}"
    );
    outbox
        .emails_to(to)
        .await
        .iter()
        .filter(|m| m["Subject"] == subject)
        .filter_map(|m| {
            let text = m["BodyText"].as_str()?;
            let start = text.find("?token=")? + "?token=".len();
            Some(text[start..start + 43].to_owned())
        })
        .collect()
}

fn email() -> String {
    format!("{}@example.com", unique("account"))
}

#[tokio::test]
async fn an_account_verifies_once_through_the_emailed_link_and_only_then_orders() {
    let (t, outbox) = TestApp::spawn_sending(&[]).await;
    let address = email();
    sign_up(&t, &address).await;
    let session = login(&t, &address, PASSWORD)
        .await
        .expect("login works before verification");
    assert!(!session.user.verified);
    let product = t.product("verify", 1500, 5).await;
    let unverified = caller(&t, &session).await;
    let refused = t.order(&unverified, &[(&product, 1)]).await;
    assert!(matches!(refused, Err(Error::EmailNotVerified)), "{refused:?}");
    assert_eq!(t.stock(&product).await, 5, "a refused order takes nothing");

    let tokens = tokens_in(&t, &outbox, &address, "Confirm your email address").await;
    assert_eq!(tokens.len(), 1, "one verification email");
    let link_email = &outbox.emails_to(&address).await[0];
    assert!(
        link_email["BodyText"]
            .as_str()
            .unwrap_or_default()
            .contains("http://127.0.0.1:3000/verify?token="),
        "{link_email}"
    );
    let verification = parse_document(json!({"token": tokens[0]})).expect("valid");
    let user = users::verify(&t.app, verification).await.expect("verified");
    assert!(user.verified);
    let again = users::verify(
        &t.app,
        parse_document(json!({"token": tokens[0]})).expect("valid"),
    )
    .await;
    assert!(matches!(again, Err(Error::InvalidToken)), "used once: {again:?}");
    let unknown = users::verify(
        &t.app,
        parse_document(json!({"token": "x".repeat(43)})).expect("valid"),
    )
    .await;
    assert!(matches!(unknown, Err(Error::InvalidToken)), "{unknown:?}");
    let malformed = users::verify(&t.app, parse_document(json!({"token": "short"})).expect("valid")).await;
    assert!(matches!(malformed, Err(Error::InvalidToken)), "{malformed:?}");

    let verified = caller(&t, &session).await;
    assert!(verified.verified, "the same access token, verified now");
    t.order(&verified, &[(&product, 1)]).await.expect("placed");
}

#[tokio::test]
async fn an_order_needs_no_verification_where_the_deployment_says_so() {
    let t = TestApp::spawn_with(&[("REQUIRE_VERIFIED_EMAIL", "false")]).await;
    let address = email();
    sign_up(&t, &address).await;
    let session = login(&t, &address, PASSWORD).await.expect("login");
    let product = t.product("verify", 1500, 5).await;
    let unverified = caller(&t, &session).await;
    assert!(!unverified.verified);
    t.order(&unverified, &[(&product, 1)])
        .await
        .expect("placed unverified");
}

#[tokio::test]
async fn a_taken_email_gets_the_same_answer_and_its_owner_one_notice() {
    let (t, outbox) = TestApp::spawn_sending(&[]).await;
    let address = email();
    sign_up(&t, &address).await;
    sign_up(&t, &address).await;
    sign_up(&t, &address.to_uppercase()).await;
    let delivered = outbox.deliver(&t.app).await;
    assert!(delivered.iter().all(|r| r.batch_item_failures.is_empty()));
    let subjects: Vec<String> = outbox
        .emails_to(&address)
        .await
        .iter()
        .filter_map(|m| m["Subject"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        subjects,
        [
            "Confirm your email address",
            "Someone tried to sign up with your email address"
        ],
        "one verification, one notice for the window"
    );
    let session = login(&t, &address, PASSWORD)
        .await
        .expect("the first password still works");
    assert!(!session.user.verified);
}

#[tokio::test]
async fn a_reset_works_once_revokes_what_came_before_and_clears_the_lockout() {
    let (t, outbox) = TestApp::spawn_sending(&[]).await;
    let address = email();
    sign_up(&t, &address).await;
    let before = login(&t, &address, PASSWORD).await.expect("login");
    for _ in 0..MAX_LOGIN_FAILURES {
        let _ = login(&t, &address, "wrong horse battery").await;
    }
    let locked = login(&t, &address, PASSWORD).await;
    assert!(matches!(locked, Err(Error::TooManyAttempts { .. })), "{locked:?}");

    let request = || parse_document(json!({"email": &address})).expect("valid");
    for _ in 0..2 {
        let sent = users::request_reset(&t.app, request(), &here())
            .await
            .expect("answered");
        assert_eq!(sent.status, "reset_sent");
    }
    let tokens = tokens_in(&t, &outbox, &address, "Reset your password").await;
    assert_eq!(tokens.len(), 2, "one email per request");
    let confirm = |token: &str, password: &str| {
        parse_document(json!({"token": token, "new_password": password})).expect("valid")
    };
    users::confirm_reset(&t.app, confirm(&tokens[1], "a brand new password 1"), &here())
        .await
        .expect("reset");
    let session = login(&t, &address, "a brand new password 1")
        .await
        .expect("the new password, the lockout cleared");
    assert!(
        login(&t, &address, PASSWORD).await.is_err(),
        "the old password is gone"
    );
    let (version, _) = t.app.store.token_version(&session.user.id).await.expect("read");
    let (_, issued_at) = auth::verify_token_versioned(&t.secret(), &before.access_token).expect("signed");
    assert!(
        auth::token_revoked(issued_at, version),
        "access tokens from before are revoked"
    );

    let reused = users::confirm_reset(&t.app, confirm(&tokens[1], "yet another password 2"), &here()).await;
    assert!(
        matches!(reused, Err(Error::InvalidToken)),
        "used once: {reused:?}"
    );
    let earlier = users::confirm_reset(&t.app, confirm(&tokens[0], "yet another password 2"), &here()).await;
    assert!(
        matches!(earlier, Err(Error::InvalidToken)),
        "revoked by the reset: {earlier:?}"
    );
    login(&t, &address, "a brand new password 1")
        .await
        .expect("unchanged by the refusals");
}

#[tokio::test]
async fn expired_tokens_are_refused_and_change_nothing() {
    let t = TestApp::spawn().await;
    let address = email();
    sign_up(&t, &address).await;
    let account = t
        .app
        .store
        .find_account_by_email(&Email::parse(address.clone()).expect("email"))
        .await
        .expect("read")
        .expect("the account");
    let secret = shared::foundation::secret::Secret::new(TEST_ACCOUNT_TOKEN_SECRET);
    let long_ago = Timestamp::now().plus_secs(-accounts::VERIFY_TTL_SECS - 1);
    for purpose in [Purpose::Verify, Purpose::Reset] {
        let (record, token) = TokenRecord::issue(
            &secret,
            purpose,
            account.user.id.clone(),
            account.user.email.clone(),
            0,
            long_ago,
        );
        t.app
            .store
            .issue_token(&record, &accounts::digest(&token))
            .await
            .expect("written");
        let refused = match purpose {
            Purpose::Verify => users::verify(&t.app, parse_document(json!({"token": token})).expect("valid"))
                .await
                .map(|_| ()),
            Purpose::Reset => {
                users::confirm_reset(
                    &t.app,
                    parse_document(json!({"token": token, "new_password": "a brand new password 1"}))
                        .expect("valid"),
                    &here(),
                )
                .await
            }
        };
        assert!(
            matches!(refused, Err(Error::InvalidToken)),
            "{purpose:?}: {refused:?}"
        );
    }
    let session = login(&t, &address, PASSWORD)
        .await
        .expect("the password is unchanged");
    assert!(!session.user.verified, "still unverified");
}

#[tokio::test]
async fn reset_requests_answer_alike_and_are_limited_per_email_known_or_not() {
    let t = TestApp::spawn().await;
    let known = email();
    sign_up(&t, &known).await;
    for address in [known.as_str(), &email()] {
        let from = somewhere();
        for _ in 0..3 {
            let sent = users::request_reset(
                &t.app,
                parse_document(json!({"email": address})).expect("valid"),
                &from,
            )
            .await
            .expect("answered");
            assert_eq!(sent.status, "reset_sent");
        }
        let fourth = users::request_reset(
            &t.app,
            parse_document(json!({"email": address})).expect("valid"),
            &somewhere(),
        )
        .await;
        assert!(
            matches!(fourth, Err(Error::TooManyAttempts { .. })),
            "{address}: {fourth:?}"
        );
    }
}

#[tokio::test]
async fn emails_speak_the_language_the_client_asked_for_at_sign_up() {
    let (t, outbox) = TestApp::spawn_sending(&[]).await;
    let address = email();
    let input = parse_document(json!({"email": &address, "password": PASSWORD, "name": "Anna Muster"}))
        .expect("valid");
    users::register(&t.app, input, &somewhere(), Some("de-CH,de;q=0.9,en;q=0.5"))
        .await
        .expect("answered");
    let tokens = tokens_in(&t, &outbox, &address, "Bestätigen Sie Ihre E-Mail-Adresse").await;
    assert_eq!(tokens.len(), 1, "{:?}", outbox.emails_to(&address).await);
    let email = &outbox.emails_to(&address).await[0];
    assert!(
        email["BodyText"]
            .as_str()
            .is_some_and(|text| text.starts_with("Hallo Anna Muster,")),
        "{email}"
    );
    assert!(
        email["BodyHtml"]
            .as_str()
            .is_some_and(|html| html.contains("<html lang=\"de\">"))
    );

    // A stranger (whose client asks for English) tries the same email: the
    // owner is told in the owner's language.
    let again =
        parse_document(json!({"email": &address, "password": PASSWORD, "name": "Someone"})).expect("valid");
    users::register(&t.app, again, &somewhere(), Some("en-US"))
        .await
        .expect("answered");
    outbox.deliver(&t.app).await;
    let subjects: Vec<String> = outbox
        .emails_to(&address)
        .await
        .iter()
        .filter_map(|m| m["Subject"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        subjects,
        [
            "Bestätigen Sie Ihre E-Mail-Adresse",
            "Jemand wollte sich mit Ihrer E-Mail-Adresse registrieren"
        ]
    );
}
