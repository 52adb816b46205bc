//! Users against the emulator: the rules of registration, login lockout,
//! profile and password changes, checked through the use cases and the table.

use serde_json::json;
use shared::Error;
use shared::adapters::store;
use shared::foundation::input::parse_document;
use shared::model::auth;
use shared::model::auth::{Principal, Role};
use shared::model::users::{
    ClientAddress, Credentials, Email, LOCKOUT_WINDOW_SECS, MAX_LOGIN_FAILURES, Registration,
};
use shared::usecases::users;
use shop_tests::{TestApp, unique};

fn registration(email: &str) -> Registration {
    parse_document(json!({"email": email, "password": "correct horse battery", "name": "Ann"}))
        .expect("valid")
}

fn credentials(email: &str, password: &str) -> Credentials {
    parse_document(json!({"email": email, "password": password})).expect("valid")
}

/// A new customer: their email, and them as a caller.
async fn registered(t: &TestApp) -> (String, Principal) {
    let address = email();
    let user = sign_up(t, &address).await;
    let caller = Principal {
        user_id: user.id.clone(),
        role: user.role,
        verified: true,
    };
    (address, caller)
}

/// A client address of its own for each sign-up (sign-ups are limited per
/// address, and the tests sign many up).
fn sign_up_address() -> ClientAddress {
    ClientAddress::parse(Some(&format!(
        "198.18.{}.{}",
        fastrand::u8(..),
        fastrand::u8(1..255)
    )))
}

/// The address the tests' logins come from.
fn here() -> ClientAddress {
    ClientAddress::parse(Some("192.0.2.10"))
}

fn email() -> String {
    format!("{}@example.com", unique("user"))
}

/// The sort keys of every item of the test's table.
async fn sort_keys(t: &TestApp) -> Vec<String> {
    // Tooling-only scan of a throwaway test table, to prove nothing partial was written.
    let out = t
        .app
        .store
        .client()
        .scan()
        .table_name(t.app.store.table())
        .send()
        .await
        .expect("scan");
    out.items
        .unwrap_or_default()
        .iter()
        .filter_map(|item| item.get("SK").and_then(|sk| sk.as_s().ok()).cloned())
        .collect()
}

/// The items of the test's table but the attempt counters (sign-ups and
/// logins are counted in items of their own) and the notices to owners of
/// taken emails.
async fn item_count(t: &TestApp) -> usize {
    sort_keys(t)
        .await
        .iter()
        .filter(|sk| !matches!(sk.as_str(), "ATTEMPTS" | "NOTICE"))
        .count()
}

/// The items with this sort key.
async fn count_of(t: &TestApp, sort_key: &str) -> usize {
    sort_keys(t).await.iter().filter(|sk| *sk == sort_key).count()
}

/// Signs up a new account: its email.
async fn signed_up(t: &TestApp) -> String {
    let address = email();
    sign_up(t, &address).await;
    address
}

/// Signs up an account with this email: the account.
async fn sign_up(t: &TestApp, address: &str) -> shared::model::users::User {
    let sent = users::register(&t.app, registration(address), &sign_up_address(), None)
        .await
        .expect("registered");
    assert_eq!(sent.status, "verification_sent");
    t.app
        .store
        .find_account_by_email(&Email::parse(address.to_owned()).expect("an email"))
        .await
        .expect("read")
        .expect("the account")
        .user
}

#[tokio::test]
async fn register_claims_the_email_atomically() {
    let t = TestApp::spawn().await;
    let address = email();
    let user = sign_up(&t, &address).await;
    assert_eq!((user.role, user.verified), (Role::Customer, false));
    assert_eq!(
        item_count(&t).await,
        3,
        "the profile, the email claim and the verification token"
    );

    // A taken email answers as a new one, and writes nothing of an
    // account: only the notice to its owner.
    let again = users::register(
        &t.app,
        registration(&address.to_uppercase()),
        &sign_up_address(),
        None,
    )
    .await
    .expect("the same answer");
    assert_eq!(again.status, "verification_sent");
    assert_eq!(item_count(&t).await, 3, "no second account, no second token");
    assert_eq!(count_of(&t, "NOTICE").await, 1, "the owner's notice");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_make_one_account() {
    let t = TestApp::spawn().await;
    let address = email();
    let from = sign_up_address();
    let attempts = (0..8).map(|_| users::register(&t.app, registration(&address), &from, None));
    let results = futures::future::join_all(attempts).await;
    assert!(
        results.iter().all(Result::is_ok),
        "one answer for all: {results:?}"
    );
    assert_eq!(count_of(&t, "PROFILE").await, 1, "one account");
    assert_eq!(count_of(&t, "TOKEN").await, 1, "one verification token");
    assert_eq!(item_count(&t).await, 3);
}

#[tokio::test]
async fn login_issues_a_token_for_the_user() {
    let t = TestApp::spawn().await;
    let address = email();
    let user = sign_up(&t, &address).await;
    let session = users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("login");
    let principal = auth::verify_token(&t.secret(), &session.access_token).expect("valid token");
    assert_eq!(principal.user_id, user.id);
    assert_eq!(session.user, user);
    assert_eq!(session.expires_in, 3600);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_fail_alike() {
    let t = TestApp::spawn().await;
    let address = signed_up(&t).await;
    let wrong = users::login(&t.app, credentials(&address, "wrong horse battery"), &here()).await;
    let unknown = users::login(&t.app, credentials(&email(), "correct horse battery"), &here()).await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    assert!(matches!(unknown, Err(Error::InvalidCredentials)), "{unknown:?}");
}

#[tokio::test]
async fn five_failures_from_one_address_lock_it_out_even_for_the_right_password() {
    let t = TestApp::spawn().await;
    let address = signed_up(&t).await;
    for _ in 0..MAX_LOGIN_FAILURES {
        let result = users::login(&t.app, credentials(&address, "wrong horse battery"), &here()).await;
        assert!(matches!(result, Err(Error::InvalidCredentials)), "{result:?}");
    }
    let locked = users::login(&t.app, credentials(&address, "correct horse battery"), &here()).await;
    match locked {
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            assert!(
                retry_after_secs > 0 && retry_after_secs <= LOCKOUT_WINDOW_SECS as u64,
                "{retry_after_secs}"
            );
        }
        other => panic!("expected a lockout, got {other:?}"),
    }
    // Another email is not affected.
    let other = signed_up(&t).await;
    users::login(&t.app, credentials(&other, "correct horse battery"), &here())
        .await
        .expect("login");
}

#[tokio::test]
async fn parallel_guesses_cannot_pass_the_lockout() {
    let t = TestApp::spawn().await;
    let address = signed_up(&t).await;
    let from = here();
    let guesses = (0..20).map(|i| {
        users::login(
            &t.app,
            credentials(&address, &format!("wrong guess number {i}")),
            &from,
        )
    });
    let results = futures::future::join_all(guesses).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(Error::InvalidCredentials)))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::TooManyAttempts { .. })))
        .count();
    assert_eq!(checked, MAX_LOGIN_FAILURES as usize, "{results:?}");
    assert_eq!(refused, 20 - MAX_LOGIN_FAILURES as usize);
}

#[tokio::test]
async fn a_success_clears_earlier_failures() {
    let t = TestApp::spawn().await;
    let address = signed_up(&t).await;
    for _ in 0..MAX_LOGIN_FAILURES - 1 {
        assert!(
            users::login(&t.app, credentials(&address, "wrong horse battery"), &here())
                .await
                .is_err()
        );
    }
    users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("login");
    for _ in 0..MAX_LOGIN_FAILURES - 1 {
        assert!(matches!(
            users::login(&t.app, credentials(&address, "wrong horse battery"), &here()).await,
            Err(Error::InvalidCredentials)
        ));
    }
    users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("still not locked");
}

#[tokio::test]
async fn profile_updates_and_password_changes_persist() {
    let t = TestApp::spawn().await;
    let (address, caller) = registered(&t).await;
    let patch = parse_document(json!({
        "name": "Ann Smith",
        "address": {"name": "Ann Smith", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "region": "US-NY", "country": "US"}
    }))
    .expect("valid");
    let updated = users::update_me(&t.app, &caller, patch).await.expect("updated");
    assert_eq!(updated.name.as_str(), "Ann Smith");
    let stored = users::get_me(&t.app, &caller).await.expect("read back");
    assert_eq!(stored, updated);
    assert_eq!(
        serde_json::to_value(&stored).expect("json")["address"]["country"],
        "US"
    );

    let cleared = users::update_me(
        &t.app,
        &caller,
        parse_document(json!({"address": null})).expect("valid"),
    )
    .await
    .expect("cleared");
    assert_eq!(cleared.address, None);
    assert_eq!(cleared.name.as_str(), "Ann Smith");

    let wrong = parse_document(
        json!({"current_password": "not my password", "new_password": "a brand new password"}),
    )
    .expect("valid");
    assert!(matches!(
        users::change_password(&t.app, &caller, wrong, &here()).await,
        Err(Error::InvalidCredentials)
    ));
    let change = parse_document(
        json!({"current_password": "correct horse battery", "new_password": "a brand new password"}),
    )
    .expect("valid");
    users::change_password(&t.app, &caller, change, &here())
        .await
        .expect("changed");
    assert!(
        users::login(&t.app, credentials(&address, "correct horse battery"), &here())
            .await
            .is_err()
    );
    users::login(&t.app, credentials(&address, "a brand new password"), &here())
        .await
        .expect("new password works");
}

#[tokio::test]
async fn the_operator_can_create_admins() {
    let t = TestApp::spawn().await;
    let address = email();
    let admin = users::create_user(&t.app.store, registration(&address), Role::Admin)
        .await
        .expect("created");
    let session = users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("login");
    assert_eq!(session.user.id, admin.id);
    assert!(
        auth::verify_token(&t.secret(), &session.access_token)
            .expect("token")
            .is_admin()
    );
    assert_eq!(Email::parse(address).expect("valid"), session.user.email);
}

#[tokio::test]
async fn tables_are_created_from_the_one_definition() {
    let t = TestApp::spawn().await;
    let description = t
        .app
        .store
        .client()
        .describe_table()
        .table_name(t.app.store.table())
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    let indexes: Vec<_> = description
        .global_secondary_indexes()
        .iter()
        .filter_map(|gsi| gsi.index_name())
        .collect();
    let expected: Vec<_> = store::GSIS.iter().map(|gsi| gsi.name).collect();
    assert_eq!(indexes.len(), expected.len());
    for name in expected {
        assert!(indexes.contains(&name), "{name} missing from {indexes:?}");
    }
    assert_eq!(t.queues.len(), 2);
}

/// A stranger's guesses from another address lock out only that address:
/// the owner still logs in from theirs. Guesses spread over many addresses
/// meet the email's ceiling (100 in a window) instead.
#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_from_elsewhere() {
    let t = TestApp::spawn().await;
    let address = signed_up(&t).await;
    let stranger = ClientAddress::parse(Some("203.0.113.7"));
    for _ in 0..MAX_LOGIN_FAILURES {
        assert!(matches!(
            users::login(&t.app, credentials(&address, "a stranger's guess"), &stranger).await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        users::login(&t.app, credentials(&address, "correct horse battery"), &stranger).await,
        Err(Error::TooManyAttempts { .. })
    ));
    users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("the owner, from their own address");

    let app = &t.app;
    let spread = (0..shared::model::users::MAX_LOGIN_ATTEMPTS_PER_EMAIL).map(|i| {
        let from = ClientAddress::parse(Some(&format!("198.51.100.{}", i % 250)));
        let credentials = credentials(&address, "spread guess");
        async move { users::login(app, credentials, &from).await }
    });
    futures::future::join_all(spread).await;
    assert!(matches!(
        users::login(
            &t.app,
            credentials(&address, "correct horse battery"),
            &ClientAddress::parse(Some("198.18.0.1"))
        )
        .await,
        Err(Error::TooManyAttempts { .. })
    ));
}

/// The email's ceiling counts failures: the owner logging in more often
/// than it allows (many devices, a script) is never locked out by it.
#[tokio::test]
async fn the_owners_own_logins_never_reach_the_emails_ceiling() {
    let t = TestApp::spawn().await;
    let (address, _) = registered(&t).await;
    for i in 0..=shared::model::users::MAX_LOGIN_ATTEMPTS_PER_EMAIL {
        let from = ClientAddress::parse(Some(&format!("198.51.100.{}", i % 3)));
        users::login(&t.app, credentials(&address, "correct horse battery"), &from)
            .await
            .unwrap_or_else(|err| panic!("login {i}: {err:?}"));
    }
}

/// The current password's check on a password change counts as a login
/// attempt: a stolen token cannot guess it freely.
#[tokio::test]
async fn a_password_change_counts_its_current_password_check() {
    let t = TestApp::spawn().await;
    let (address, caller) = registered(&t).await;
    let change = |current: &str| {
        parse_document(json!({"current_password": current, "new_password": "a brand new password"}))
            .expect("valid")
    };
    for _ in 0..MAX_LOGIN_FAILURES {
        assert!(matches!(
            users::change_password(&t.app, &caller, change("a guess at it"), &here()).await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        users::change_password(&t.app, &caller, change("correct horse battery"), &here()).await,
        Err(Error::TooManyAttempts { .. })
    ));
    assert!(matches!(
        users::login(&t.app, credentials(&address, "correct horse battery"), &here()).await,
        Err(Error::TooManyAttempts { .. })
    ));
}

/// A client that proved itself (it presents the device token an earlier
/// login gave it) is counted against its device alone: when strangers have
/// filled the email's ceiling from many addresses, or its own address's
/// window, the owner's device still logs in; without the token, refused.
#[tokio::test]
async fn a_proven_device_logs_in_past_the_emails_ceiling_and_its_addresss_window() {
    let t = TestApp::spawn().await;
    let (address, _) = registered(&t).await;
    let first = users::login(&t.app, credentials(&address, "correct horse battery"), &here())
        .await
        .expect("first login");
    let device = first.device_token.clone();

    let app = &t.app;
    let spread = (0..shared::model::users::MAX_LOGIN_ATTEMPTS_PER_EMAIL).map(|i| {
        let from = ClientAddress::parse(Some(&format!("198.51.100.{}", i % 250)));
        let credentials = credentials(&address, "spread guess");
        async move { users::login(app, credentials, &from).await }
    });
    futures::future::join_all(spread).await;
    for _ in 0..MAX_LOGIN_FAILURES {
        let _ = users::login(&t.app, credentials(&address, "a guess from here"), &here()).await;
    }
    assert!(matches!(
        users::login(&t.app, credentials(&address, "correct horse battery"), &here()).await,
        Err(Error::TooManyAttempts { .. })
    ));
    let with_device = |password: &str| {
        parse_document::<Credentials>(json!({"email": address, "password": password, "device_token": device}))
            .expect("valid")
    };
    let again = users::login(&t.app, with_device("correct horse battery"), &here())
        .await
        .expect("the owner's device");
    assert_ne!(again.device_token, device, "each login, a new device token");

    // The device has a window of its own: guesses with a stolen token lock
    // only that token.
    for _ in 0..10 {
        assert!(matches!(
            users::login(&t.app, with_device("a thief's guess"), &here()).await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        users::login(&t.app, with_device("correct horse battery"), &here()).await,
        Err(Error::TooManyAttempts { .. })
    ));
    // Another email's token, or a forged one, is no device: the untrusted
    // path, refused here as before.
    let other = parse_document::<Credentials>(json!({
        "email": address, "password": "correct horse battery", "device_token": "0123.456.789"
    }))
    .expect("valid");
    assert!(matches!(
        users::login(&t.app, other, &here()).await,
        Err(Error::TooManyAttempts { .. })
    ));
}

/// One address trying a password or two on many emails (credential
/// stuffing, password spraying) meets its address's window over every
/// email; other addresses, and the owners, are not held up by it.
#[tokio::test]
async fn one_address_guessing_across_emails_is_limited() {
    let t = TestApp::spawn().await;
    let (owner, _) = registered(&t).await;
    let sprayer = ClientAddress::parse(Some("203.0.113.99"));
    let per_address = t.app.config.login_limits.per_address;
    for i in 0..per_address {
        let guess = users::login(&t.app, credentials(&email(), "Summer2026!!!"), &sprayer).await;
        assert!(
            matches!(guess, Err(Error::InvalidCredentials)),
            "guess {i}: {guess:?}"
        );
    }
    assert!(matches!(
        users::login(&t.app, credentials(&email(), "Summer2026!!!"), &sprayer).await,
        Err(Error::TooManyAttempts { .. })
    ));
    assert!(matches!(
        users::login(&t.app, credentials(&owner, "correct horse battery"), &sprayer).await,
        Err(Error::TooManyAttempts { .. })
    ));
    users::login(&t.app, credentials(&owner, "correct horse battery"), &here())
        .await
        .expect("from elsewhere");
}

/// Sign-ups from one address are limited (`REGISTRATIONS_PER_ADDRESS`):
/// accounts cannot be minted in a loop to get round the per-account
/// limits. Another address signs up as before.
#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let t = TestApp::spawn().await;
    let from = ClientAddress::parse(Some("203.0.113.50"));
    let max = t.app.config.login_limits.registrations_per_address;
    for _ in 0..max {
        users::register(&t.app, registration(&email()), &from, None)
            .await
            .expect("within the limit");
    }
    let refused = users::register(&t.app, registration(&email()), &from, None).await;
    assert!(
        matches!(refused, Err(Error::TooManyAttempts { .. })),
        "{refused:?}"
    );
    users::register(&t.app, registration(&email()), &sign_up_address(), None)
        .await
        .expect("another address");
}
