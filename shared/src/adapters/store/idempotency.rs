//! Idempotency records: one per user and key, kept 24 hours by TTL.

use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::expr::{Changes, Conditional, Updates, attr};
use super::{
    PARTITION_KEY, Read, Store, TTL_ATTRIBUTE, is_conditional_failure, item, key, keys, n, s, update,
};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::model::idempotency::{Claim, LOCK_SECS, Mark, RETENTION_SECS, StoredResponse};

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    fingerprint: String,
    resource_id: uuid::Uuid,
    locked_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<StoredResponse>,
    expires_at_epoch: i64,
}

impl Store {
    /// Claims `key` for a request with `fingerprint`: a fresh claim (or one
    /// whose holder has died) runs; a finished one replays; anything else is
    /// `IDEMPOTENCY_IN_PROGRESS` or `IDEMPOTENCY_KEY_REUSED`.
    pub async fn claim_idempotency_key(
        &self,
        user: &UserId,
        key_text: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Claim, Error> {
        let record = Record {
            fingerprint: fingerprint.to_owned(),
            resource_id: uuid::Uuid::now_v7(),
            locked_until: now.unix() + LOCK_SECS,
            response: None,
            expires_at_epoch: now.unix() + RETENTION_SECS,
        };
        debug_assert_eq!(TTL_ATTRIBUTE, "expires_at_epoch");
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(keys::idempotency(user, key_text), &record)?))
            // TTL deletes lazily: an expired record counts as absent. The
            // SDK's retry of this very put (its first answer lost) finds
            // its own record and succeeds.
            .when(
                attr(PARTITION_KEY)
                    .not_exists()
                    .or(attr(TTL_ATTRIBUTE).lt(n(now.unix())))
                    .or(attr("resource_id").eq(s(record.resource_id.to_string()))),
            )
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Run(record.resource_id)),
            Err(err) if is_conditional_failure(&err) => {}
            Err(err) => return Err(err.into()),
        }

        let existing: Record = self
            .get_as(keys::idempotency(user, key_text), Read::Strong)
            .await?
            .ok_or(Error::IdempotencyInProgress)?;
        if existing.fingerprint != fingerprint {
            return Err(Error::IdempotencyKeyReused);
        }
        if let Some(response) = existing.response {
            return Ok(Claim::Replay(response));
        }
        if existing.locked_until > now.unix() {
            return Err(Error::IdempotencyInProgress);
        }
        // The first attempt died without an answer: take over its claim,
        // keeping its resource id.
        let takeover = Changes::new()
            .set("locked_until", n(now.unix() + LOCK_SECS))
            .when(attr("locked_until").eq(n(existing.locked_until)))
            .when(attr("response").not_exists());
        if self
            .update_if(keys::idempotency(user, key_text), takeover)
            .await?
        {
            Ok(Claim::Retry(existing.resource_id))
        } else {
            Err(Error::IdempotencyInProgress)
        }
    }

    /// Lets a retry take the claim over at once: the request answered a
    /// server error, nothing is recorded for replay. (If this write fails
    /// too, the lock lapses after `LOCK_SECS`.)
    pub async fn release_idempotency_key(&self, user: &UserId, key_text: &str) -> Result<(), Error> {
        // Gone, or answered meanwhile: nothing to release.
        let release = Changes::new()
            .set("locked_until", n(0))
            .when(attr(PARTITION_KEY).exists())
            .when(attr("response").not_exists());
        self.update_if(keys::idempotency(user, key_text), release).await?;
        Ok(())
    }

    /// The transaction item that marks a key's record applied, once: a
    /// write that includes it happens at most once per key, and a second
    /// attempt is cancelled on this item ([`APPLIED_BEFORE`]).
    pub(super) fn apply_once(&self, mark: &Mark, now: Timestamp) -> Result<TransactWriteItem, Error> {
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::idempotency(&mark.user, &mark.key))))
                .changes(
                    Changes::new()
                        .set("applied_at", s(now.to_string()))
                        .when(attr(PARTITION_KEY).exists())
                        .when(attr("applied_at").not_exists()),
                ),
        )
    }

    /// Records the answer of a claimed request for replay.
    pub async fn complete_idempotency_key(
        &self,
        user: &UserId,
        key_text: &str,
        response: &StoredResponse,
    ) -> Result<(), Error> {
        self.update_existing(
            keys::idempotency(user, key_text),
            Changes::new().set("response", serde_dynamo::to_attribute_value(response)?),
        )
        .await
    }
}
