//! User, email and login-attempt items.

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update as WriteUpdate};
use serde::{Deserialize, Serialize};

use super::expr::{Changes, Conditional, Projected, Updates, attr};
use super::{
    GSI3, PARTITION_KEY, Read, Store, TTL_ATTRIBUTE, is_conditional_failure, item, key, keys, n, put, s,
};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::input::Update;
use crate::model::accounts::TokenRecord;
use crate::model::auth::PasswordDigest;
use crate::model::users::{
    Account, ClientAddress, Email, LOCKOUT_WINDOW_SECS, LoginClient, LoginLimits, ProfilePatch, User, UserId,
};
#[derive(Serialize, Deserialize)]
struct EmailItem {
    user_id: UserId,
}

#[derive(Deserialize)]
struct AttemptsItem {
    window_start: i64,
}

/// A token's record as an item, kept a day past its expiry.
fn token_item(record: &TokenRecord, token_digest: &str) -> Result<super::Item, Error> {
    let mut token = item(keys::account_token(token_digest), record)?;
    token.insert(TTL_ATTRIBUTE.into(), n(record.expires_at + 24 * 3600));
    Ok(token)
}

/// A transaction's use of a token: conditional on it existing, unused and
/// unexpired at `now`.
fn use_token(table: &str, token_digest: &str, now: Timestamp) -> Result<TransactWriteItem, Error> {
    super::update(
        WriteUpdate::builder()
            .table_name(table)
            .set_key(Some(key(keys::account_token(token_digest))))
            .changes(
                Changes::new().set("used", AttributeValue::Bool(true)).when(
                    attr(PARTITION_KEY)
                        .exists()
                        .and(attr("used").eq(AttributeValue::Bool(false)))
                        .and(attr("expires_at").gt(n(now.unix()))),
                ),
            ),
    )
}

/// A transaction's put of a new item.
fn put_new(table: &str, item: super::Item) -> Result<TransactWriteItem, Error> {
    put(Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .when(attr(PARTITION_KEY).not_exists()))
}

impl Store {
    /// Writes the user and claims the email in one transaction, with the
    /// verification token if there is one (its record, keyed by the token's
    /// SHA-256); a taken email writes nothing and is `EMAIL_TAKEN`.
    pub async fn create_user(
        &self,
        user: &User,
        digest: &PasswordDigest,
        token: Option<(&TokenRecord, &str)>,
        locale: Option<&str>,
    ) -> Result<(), Error> {
        let account = Account {
            locale: locale.map(str::to_owned),
            user: user.clone(),
            digest: digest.clone(),
            updated_at: user.created_at,
            token_version: 0,
        };
        let email = EmailItem {
            user_id: user.id.clone(),
        };
        let mut record = item(keys::user(&user.id), &account)?;
        record.insert(GSI3.partition_key.into(), s(keys::customers(&user.id)));
        record.insert(GSI3.sort_key.into(), s(keys::by_time(user.created_at, &user.id)));
        let mut items = vec![
            put_new(&self.table, record)?,
            put_new(&self.table, item(keys::email(&user.email), &email)?)?,
        ];
        if let Some((record, token_digest)) = token {
            items.push(put_new(&self.table, token_item(record, token_digest)?)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            // The second item is the email claim; the first cannot collide
            // (a new UUID v7).
            Err(_) => Err(Error::EmailTaken),
        }
    }

    pub async fn get_account(&self, id: &UserId) -> Result<Option<Account>, Error> {
        self.get_as(keys::user(id), Read::Strong).await
    }

    pub async fn find_account_by_email(&self, email: &Email) -> Result<Option<Account>, Error> {
        let Some(found) = self
            .get_as::<EmailItem, _>(keys::email(email), Read::Strong)
            .await?
        else {
            return Ok(None);
        };
        self.get_account(&found.user_id).await
    }

    /// Applies a profile patch and returns the updated user.
    pub async fn update_profile(
        &self,
        id: &UserId,
        patch: &ProfilePatch,
        now: Timestamp,
    ) -> Result<User, Error> {
        let mut changes = Changes::new()
            .set("updated_at", s(now.to_string()))
            .when(attr(PARTITION_KEY).exists());
        if let Update::Set(name) = &patch.name {
            changes = changes.set("name", s(name.as_str()));
        }
        changes = match &patch.address {
            Update::Keep => changes,
            Update::Clear => changes.remove("address"),
            Update::Set(address) => changes.set("address", serde_dynamo::to_attribute_value(address)?),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(id))))
            .changes(changes)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let account: Account = serde_dynamo::from_item(output.attributes.unwrap_or_default())?;
                Ok(account.user)
            }
            Err(err) if is_conditional_failure(&err) => Err(Error::NotFound),
            Err(err) => Err(err.into()),
        }
    }

    /// Replaces the password hash if it is still `current` (a concurrent
    /// change makes this one fail as `INVALID_CREDENTIALS`).
    pub async fn replace_password(
        &self,
        id: &UserId,
        current: &PasswordDigest,
        new: &PasswordDigest,
        now: Timestamp,
    ) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(id))))
            .changes(
                Changes::new()
                    .set("password_hash", serde_dynamo::to_attribute_value(new)?)
                    .set("updated_at", s(now.to_string()))
                    .add("token_version", n(1))
                    .when(attr("password_hash").eq(serde_dynamo::to_attribute_value(current)?)),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => Err(Error::InvalidCredentials),
            Err(err) => Err(err.into()),
        }
    }

    /// The user's token version now (moved on by each password change) and
    /// whether their email is verified: one strongly consistent read of two
    /// attributes, so that a token is refused from the moment its password
    /// changed. An account from before verification reads as verified.
    pub async fn token_version(&self, id: &UserId) -> Result<(u32, bool), Error> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(id))))
            .only(&["token_version", "verified"])
            .consistent_read(true)
            .send()
            .await?
            .item;
        let version = match item.as_ref().and_then(|item| item.get("token_version")) {
            Some(AttributeValue::N(version)) => version.parse().unwrap_or(0),
            _ => 0,
        };
        let verified = match item.as_ref().map(|item| item.get("verified")) {
            Some(Some(AttributeValue::Bool(verified))) => *verified,
            Some(None) => true,
            Some(Some(_)) | None => false,
        };
        Ok((version, verified))
    }

    /// The record of the token whose SHA-256 is `token_digest`.
    pub async fn account_token(&self, token_digest: &str) -> Result<Option<TokenRecord>, Error> {
        self.get_as(keys::account_token(token_digest), Read::Strong).await
    }

    /// Writes a new token's record (a reset's).
    pub async fn issue_token(&self, record: &TokenRecord, token_digest: &str) -> Result<(), Error> {
        let written = self
            .put_if(
                token_item(record, token_digest)?,
                attr(PARTITION_KEY).not_exists(),
            )
            .await?;
        if written {
            Ok(())
        } else {
            Err(Error::internal("a token's record exists already"))
        }
    }

    /// Marks the verification token used and its account verified, in one
    /// transaction conditional on the token being unused and unexpired at
    /// `now` (else `INVALID_TOKEN`, and nothing changes).
    pub async fn verify_account(
        &self,
        token_digest: &str,
        record: &TokenRecord,
        now: Timestamp,
    ) -> Result<(), Error> {
        let verified = Changes::new()
            .set("verified", AttributeValue::Bool(true))
            .set("updated_at", s(now.to_string()))
            .when(attr(PARTITION_KEY).exists());
        self.use_token_with(token_digest, record, now, verified, Vec::new())
            .await
    }

    /// Sets a new password with a reset token, in one transaction: the token
    /// used (conditional on it being unused and unexpired), the hash
    /// replaced and the token version moved on (conditional on it being the
    /// one the token was issued at, so a later reset or password change
    /// revokes it, with every access token before), the email's lockout
    /// windows (its own and this client's) cleared. Any condition failing
    /// is `INVALID_TOKEN`, and nothing changes.
    pub async fn reset_password(
        &self,
        token_digest: &str,
        record: &TokenRecord,
        new: &PasswordDigest,
        client: &ClientAddress,
        now: Timestamp,
    ) -> Result<(), Error> {
        let version = if record.token_version == 0 {
            attr("token_version")
                .not_exists()
                .or(attr("token_version").eq(n(0)))
        } else {
            attr("token_version").eq(n(record.token_version))
        };
        let replaced = Changes::new()
            .set("password_hash", serde_dynamo::to_attribute_value(new)?)
            .set("updated_at", s(now.to_string()))
            .add("token_version", n(1))
            .when(attr(PARTITION_KEY).exists().and(version));
        let mut cleared = Vec::new();
        for window in [
            keys::login_attempts(&record.email, None),
            keys::login_attempts(&record.email, Some(client)),
        ] {
            cleared.push(
                TransactWriteItem::builder()
                    .delete(super::built(
                        aws_sdk_dynamodb::types::Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(window)))
                            .build(),
                    )?)
                    .build(),
            );
        }
        self.use_token_with(token_digest, record, now, replaced, cleared)
            .await
    }

    /// One transaction: the token used (unused and unexpired at `now`), its
    /// account changed by `account`, and `more`; any condition failing is
    /// `INVALID_TOKEN`, and nothing changes.
    async fn use_token_with(
        &self,
        token_digest: &str,
        record: &TokenRecord,
        now: Timestamp,
        account: Changes,
        more: Vec<TransactWriteItem>,
    ) -> Result<(), Error> {
        let mut items = vec![
            use_token(&self.table, token_digest, now)?,
            super::update(
                WriteUpdate::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::user(&record.user_id))))
                    .changes(account),
            )?,
        ];
        items.extend(more);
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::InvalidToken),
        }
    }

    /// Counts a password-reset request for `email` from `client`, or refuses
    /// it with `TOO_MANY_ATTEMPTS` when either window is full.
    pub async fn count_reset_request(
        &self,
        email: &Email,
        client: &ClientAddress,
        limits: &LoginLimits,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.count_attempt(keys::reset_requests_from(client), limits.resets_per_address, now)
            .await?;
        self.count_attempt(keys::reset_requests(email), limits.resets_per_email, now)
            .await
    }

    /// Notes that someone tried to sign up with `email`, which has an
    /// account: the notifier tells its owner, once per 15-minute window
    /// (a second attempt in the window writes nothing).
    pub async fn note_signup_attempt(&self, email: &Email, now: Timestamp) -> Result<(), Error> {
        #[derive(Serialize)]
        struct Notice<'a> {
            email: &'a str,
            at: String,
        }
        let window = now.unix() / LOCKOUT_WINDOW_SECS;
        let mut record = item(
            keys::signup_notice(email, window),
            &Notice {
                email: email.as_str(),
                at: now.to_string(),
            },
        )?;
        record.insert(TTL_ATTRIBUTE.into(), n(now.unix() + 2 * LOCKOUT_WINDOW_SECS));
        self.put_if(record, attr(PARTITION_KEY).not_exists()).await?;
        Ok(())
    }

    /// Counts a login attempt for `email` in the current windows, or
    /// refuses it with `TOO_MANY_ATTEMPTS` when one is full: a proven
    /// device's own window ([`LoginLimits::per_device`]) alone; for an
    /// untrusted client, its address's window for the email
    /// ([`LoginLimits::per_client`]), its address's over every email
    /// ([`LoginLimits::per_address`]) and the email's over every untrusted
    /// client ([`LoginLimits::per_email`]). A window starts at its first
    /// attempt and lasts [`LOCKOUT_WINDOW_SECS`]; a success clears its
    /// client's and takes itself back off the shared ones.
    pub async fn count_login_attempt(
        &self,
        email: &Email,
        client: LoginClient<'_>,
        limits: &LoginLimits,
        now: Timestamp,
    ) -> Result<(), Error> {
        match client {
            LoginClient::Device(device) => {
                self.count_attempt(keys::device_logins(device), limits.per_device, now)
                    .await
            }
            LoginClient::Address(address) => {
                self.count_attempt(keys::login_attempts(email, Some(address)), limits.per_client, now)
                    .await?;
                self.count_attempt(keys::address_logins(address), limits.per_address, now)
                    .await?;
                self.count_attempt(keys::login_attempts(email, None), limits.per_email, now)
                    .await
            }
        }
    }

    /// Counts a sign-up from `client`, or refuses it with
    /// `TOO_MANY_ATTEMPTS` when its address's window holds `max` already.
    pub async fn count_registration(
        &self,
        client: &ClientAddress,
        max: u32,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.count_attempt(keys::registrations(client), max, now).await
    }

    /// Counts one attempt in the window at `window`, refused past `max`.
    async fn count_attempt(
        &self,
        window: (String, &'static str),
        max: u32,
        now: Timestamp,
    ) -> Result<(), Error> {
        let window_end = now.unix() + LOCKOUT_WINDOW_SECS;
        let cutoff = now.unix() - LOCKOUT_WINDOW_SECS;
        // Two rounds at most: the second only after resetting a window that
        // had run out, which another caller may have done at the same time.
        for _ in 0..2 {
            let counted = Changes::new()
                .set_if_absent("window_start", n(now.unix()))
                .set_if_absent(TTL_ATTRIBUTE, n(window_end))
                .add("attempts", n(1))
                .when(
                    attr(PARTITION_KEY).not_exists().or(attr("window_start")
                        .gt(n(cutoff))
                        .and(attr("attempts").lt(n(max)))),
                );
            if self.update_if(window.clone(), counted).await? {
                return Ok(());
            }
            let Some(current) = self
                .get_as::<AttemptsItem, _>(window.clone(), Read::Strong)
                .await?
            else {
                continue;
            };
            if current.window_start > cutoff {
                let retry_after = current.window_start + LOCKOUT_WINDOW_SECS - now.unix();
                return Err(Error::TooManyAttempts {
                    retry_after_secs: u64::try_from(retry_after.max(1)).unwrap_or(1),
                });
            }
            // The window has passed: start a new one holding this attempt.
            let reset = Changes::new()
                .set("window_start", n(now.unix()))
                .set(TTL_ATTRIBUTE, n(window_end))
                .set("attempts", n(1))
                .when(attr("window_start").eq(n(current.window_start)));
            if self.update_if(window.clone(), reset).await? {
                return Ok(());
            }
        }
        Err(Error::TooManyAttempts { retry_after_secs: 1 })
    }

    /// After a success: clears its client's window (the device's, or the
    /// address's for the email) and, for an untrusted client, takes the
    /// success back off the shared windows (the email's and the address's),
    /// so that they count failures only and the owner's own logins never
    /// fill them.
    pub async fn clear_login_attempts(&self, email: &Email, client: LoginClient<'_>) -> Result<(), Error> {
        let (own, shared) = match client {
            LoginClient::Device(device) => (keys::device_logins(device), vec![]),
            LoginClient::Address(address) => (
                keys::login_attempts(email, Some(address)),
                vec![keys::login_attempts(email, None), keys::address_logins(address)],
            ),
        };
        // Independent writes, at once: the login answers after the slowest.
        let clear = async {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(own)))
                .send()
                .await
                .map(drop)
                .map_err(Error::from)
        };
        let take_back = shared.into_iter().map(|window| async move {
            let returned = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(window)))
                .changes(
                    Changes::new()
                        .add("attempts", n(-1))
                        .when(attr("attempts").gt(n(0))),
                )
                .send()
                .await;
            match returned {
                // No window (it ran out and was reaped) or nothing counted: fine.
                Err(err) if is_conditional_failure(&err) => Ok(()),
                other => other.map(drop).map_err(Error::from),
            }
        });
        futures::try_join!(clear, futures::future::try_join_all(take_back))?;
        Ok(())
    }
}
