//! Users' use cases: registration, login with lockout, the caller's own
//! profile and password.

use serde::Serialize;

use crate::adapters::store::Store;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::accounts::{
    self, PresentedToken, Purpose, ResetConfirmation, ResetRequest, TokenRecord, Verification,
};
use crate::model::auth::{self, Principal, Role};
use crate::model::emails;
use crate::model::users::{
    ClientAddress, Credentials, DisplayName, Email, LoginClient, PasswordChange, ProfilePatch, Registration,
    User, UserId,
};

/// The answer to a successful login.
#[derive(Debug, Serialize)]
pub struct Session {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub user: User,
    /// A new device token for this client to present at its next logins
    /// (`device_token` in the login body): its logins are then counted
    /// against this device alone (OWASP's device cookie).
    pub device_token: String,
}

/// The answer to a sign-up or a reset request: the same whatever the
/// email (`{"status": "verification_sent"}`, `{"status": "reset_sent"}`).
#[derive(Debug, Serialize)]
pub struct Sent {
    pub status: &'static str,
}

/// Signs a customer up: the account, unverified, and its verification
/// token in one transaction; the notifier emails the link. An email that
/// has an account changes nothing: its owner is told someone tried
/// (at most once per window), and the answer is the same, so sign-up
/// reveals no account. Sign-ups from one address are limited
/// (`REGISTRATIONS_PER_ADDRESS` in a window), counted before the hash is
/// paid for; both paths pay for one hash. The client's `Accept-Language`
/// is kept as the account's language for its emails.
pub async fn register(
    app: &App,
    input: Registration,
    client: &ClientAddress,
    accept_language: Option<&str>,
) -> Result<Sent, Error> {
    let now = Timestamp::now();
    app.store
        .count_registration(client, app.config.login_limits.registrations_per_address, now)
        .await?;
    let secret = app.config.account_token_secret()?;
    let email = input.email.clone();
    let user = new_user(input.email, input.name, Role::Customer, false);
    let (record, token) = TokenRecord::issue(secret, Purpose::Verify, user.id.clone(), email.clone(), 0, now);
    let digest = auth::hash_password(&input.password).await?;
    match app
        .store
        .create_user(
            &user,
            &digest,
            Some((&record, &accounts::digest(&token))),
            accept_language.and_then(emails::preferred_language).as_deref(),
        )
        .await
    {
        Ok(()) => {}
        Err(Error::EmailTaken) => app.store.note_signup_attempt(&email, now).await?,
        Err(err) => return Err(err),
    }
    Ok(Sent {
        status: "verification_sent",
    })
}

/// Creates an account with any role, verified (the operator tool's: an
/// admin, or a customer for a deployment's own checks).
pub async fn create_user(store: &Store, input: Registration, role: Role) -> Result<User, Error> {
    let digest = auth::hash_password(&input.password).await?;
    let user = new_user(input.email, input.name, role, true);
    store.create_user(&user, &digest, None, None).await?;
    Ok(user)
}

fn new_user(email: Email, name: DisplayName, role: Role, verified: bool) -> User {
    User {
        id: UserId::new(),
        email,
        name,
        role,
        address: None,
        verified,
        created_at: Timestamp::now(),
    }
}

/// The token's record, if the token has our shape and a record: an
/// unknown one is `INVALID_TOKEN`, as a used or expired one is.
async fn token_record(app: &App, token: String) -> Result<(String, TokenRecord), Error> {
    let presented = PresentedToken::parse(token).map_err(|_| Error::InvalidToken)?;
    let digest = presented.digest();
    let record = app
        .store
        .account_token(&digest)
        .await?
        .ok_or(Error::InvalidToken)?;
    Ok((digest, record))
}

/// Verifies the account a verification token names: once, within 24
/// hours. The user, verified.
pub async fn verify(app: &App, input: Verification) -> Result<User, Error> {
    let now = Timestamp::now();
    let (digest, record) = token_record(app, input.token).await?;
    record.check(Purpose::Verify, now)?;
    app.store.verify_account(&digest, &record, now).await?;
    app.store
        .get_account(&record.user_id)
        .await?
        .map(|account| account.user)
        .ok_or(Error::InvalidToken)
}

/// Asks for a password reset: for an email with an account, a reset
/// token (the notifier emails it); for any other, nothing. Requests are
/// counted per address and per email first (known or not), so the answer
/// and its `429`s say nothing about which emails have accounts.
pub async fn request_reset(app: &App, input: ResetRequest, client: &ClientAddress) -> Result<Sent, Error> {
    let now = Timestamp::now();
    app.store
        .count_reset_request(&input.email, client, &app.config.login_limits, now)
        .await?;
    let secret = app.config.account_token_secret()?;
    if let Some(account) = app.store.find_account_by_email(&input.email).await? {
        let (record, token) = TokenRecord::issue(
            secret,
            Purpose::Reset,
            account.user.id,
            account.user.email,
            account.token_version,
            now,
        );
        app.store.issue_token(&record, &accounts::digest(&token)).await?;
    }
    Ok(Sent { status: "reset_sent" })
}

/// Sets a new password with a reset token: once, within the hour, and
/// only if no reset or password change came after the token (each revokes
/// every token before it, access tokens included). Clears the email's
/// lockout.
pub async fn confirm_reset(app: &App, input: ResetConfirmation, client: &ClientAddress) -> Result<(), Error> {
    let now = Timestamp::now();
    let (digest, record) = token_record(app, input.token).await?;
    record.check(Purpose::Reset, now)?;
    let new = auth::hash_password(&input.new_password).await?;
    app.store
        .reset_password(&digest, &record, &new, client, now)
        .await
}

/// Checks the credentials and issues an access token and a device token.
///
/// Every attempt is counted before the password is checked, so that parallel
/// guesses cannot slip past the limits: a client presenting a valid device
/// token for this email against its device only; any other against its
/// address for this email (a stranger elsewhere cannot lock the owner out),
/// its address over every email (credential stuffing) and, with a far
/// higher ceiling, the email over every untrusted client. A success clears
/// its client's count and takes itself back off the shared ones.
pub async fn login(app: &App, input: Credentials, client: &ClientAddress) -> Result<Session, Error> {
    let now = Timestamp::now();
    let secret = app.config.jwt_secret()?;
    let device = input
        .device_token
        .as_deref()
        .and_then(|token| auth::verify_device_token(secret, token, input.email.as_str(), now));
    let from = match &device {
        Some(device) => LoginClient::Device(device),
        None => LoginClient::Address(client),
    };
    app.store
        .count_login_attempt(&input.email, from, &app.config.login_limits, now)
        .await?;
    let account = app.store.find_account_by_email(&input.email).await?;
    let verified = auth::verify_password(&input.password, account.as_ref().map(|a| &a.digest)).await?;
    let (user, token_version) = match account {
        Some(account) if verified => (account.user, account.token_version),
        _ => return Err(Error::InvalidCredentials),
    };
    app.store.clear_login_attempts(&input.email, from).await?;
    Ok(Session {
        access_token: auth::issue_token(secret, &user.id, user.role, token_version, now)?,
        token_type: "Bearer",
        expires_in: auth::TOKEN_TTL_SECS,
        device_token: auth::issue_device_token(secret, input.email.as_str(), now),
        user,
    })
}

pub async fn get_me(app: &App, caller: &Principal) -> Result<User, Error> {
    app.store
        .get_account(&caller.user_id)
        .await?
        .map(|account| account.user)
        .ok_or(Error::NotFound)
}

pub async fn update_me(app: &App, caller: &Principal, patch: ProfilePatch) -> Result<User, Error> {
    if patch == ProfilePatch::default() {
        return get_me(app, caller).await;
    }
    app.store
        .update_profile(&caller.user_id, &patch, Timestamp::now())
        .await
}

/// Changes the caller's password. The current password's check counts as a
/// login attempt (a stolen token cannot guess it freely).
pub async fn change_password(
    app: &App,
    caller: &Principal,
    input: PasswordChange,
    client: &ClientAddress,
) -> Result<(), Error> {
    let account = app
        .store
        .get_account(&caller.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let email = &account.user.email;
    let from = LoginClient::Address(client);
    app.store
        .count_login_attempt(email, from, &app.config.login_limits, Timestamp::now())
        .await?;
    if !auth::verify_password(&input.current_password, Some(&account.digest)).await? {
        return Err(Error::InvalidCredentials);
    }
    app.store.clear_login_attempts(email, from).await?;
    let digest = auth::hash_password(&input.new_password).await?;
    app.store
        .replace_password(&caller.user_id, &account.digest, &digest, Timestamp::now())
        .await
}
