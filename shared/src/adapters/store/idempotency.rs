//! Idempotency records: one per user and key, kept 24 hours by TTL.

use serde::{Deserialize, Serialize};

use super::{Read, Store, TTL_ATTRIBUTE, is_conditional_failure, item, key, keys, n};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::model::idempotency::{Claim, LOCK_SECS, RETENTION_SECS, StoredResponse};

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
            // TTL deletes lazily: an expired record counts as absent.
            .condition_expression("attribute_not_exists(PK) OR expires_at_epoch < :now")
            .expression_attribute_values(":now", n(now.unix()))
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
        let takeover = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::idempotency(user, key_text))))
            .update_expression("SET locked_until = :until")
            .condition_expression("locked_until = :seen AND attribute_not_exists(#response)")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":until", n(now.unix() + LOCK_SECS))
            .expression_attribute_values(":seen", n(existing.locked_until))
            .send()
            .await;
        match takeover {
            Ok(_) => Ok(Claim::Run(existing.resource_id)),
            Err(err) if is_conditional_failure(&err) => Err(Error::IdempotencyInProgress),
            Err(err) => Err(err.into()),
        }
    }

    /// Records the answer of a claimed request for replay.
    pub async fn complete_idempotency_key(
        &self,
        user: &UserId,
        key_text: &str,
        response: &StoredResponse,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::idempotency(user, key_text))))
            .update_expression("SET #response = :response")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":response", serde_dynamo::to_attribute_value(response)?)
            .send()
            .await?;
        Ok(())
    }
}
