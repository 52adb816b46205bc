//! Users' use cases: registration, login with lockout, the caller's own
//! profile and password.

use serde::Serialize;

use crate::adapters::store::Store;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::auth::{self, Principal, Role};
use crate::model::users::{
    ClientAddress, Credentials, LoginClient, PasswordChange, ProfilePatch, Registration, User, UserId,
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

/// Creates a customer account; sign-ups from one address are limited
/// (`REGISTRATIONS_PER_ADDRESS` in a window), counted before the hash is
/// paid for, so that accounts cannot be minted in a loop.
pub async fn register(app: &App, input: Registration, client: &ClientAddress) -> Result<User, Error> {
    app.store
        .count_registration(
            client,
            app.config.login_limits.registrations_per_address,
            Timestamp::now(),
        )
        .await?;
    create_user(&app.store, input, Role::Customer).await
}

/// Creates an account with any role; only the operator tool calls this with
/// [`Role::Admin`].
pub async fn create_user(store: &Store, input: Registration, role: Role) -> Result<User, Error> {
    let digest = auth::hash_password(&input.password).await?;
    let user = User {
        id: UserId::new(),
        email: input.email,
        name: input.name,
        role,
        address: None,
        created_at: Timestamp::now(),
    };
    store.create_user(&user, &digest).await?;
    Ok(user)
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
