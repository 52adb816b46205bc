//! Notifications sent once: the claim a sender takes on a change's email
//! or event before it sends, the suppression list, and what the table's
//! stream says changed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::expr::{Changes, attr};
use super::orders::order_with_seq;
use super::{GSI1, Item, PARTITION_KEY, Read, Store, TTL_ATTRIBUTE, item, keys, n, s};
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::accounts::TokenRecord;
use crate::model::orders::Order;
use crate::model::products::{ProductId, ProductRecord};
use crate::model::users::Email;

/// How long a claim is kept once done: longer than the stream keeps a
/// record (24 hours), so no redelivery finds it gone.
const CLAIM_KEPT_SECS: i64 = 7 * 24 * 3600;

const CLAIMED: &str = "claimed";
const DONE: &str = "done";

/// What a stream record says changed, as far as notifications care.
#[derive(Debug, Clone)]
pub enum TableChange {
    /// An order was written: the order before (`None`: it is new) and
    /// the order now, with the number of this change.
    Order {
        before: Option<Box<Order>>,
        after: Box<Order>,
        seq: u64,
    },
    /// A verification or reset token was issued.
    Token(Box<TokenRecord>),
    /// Someone tried to sign up with an email that has an account: the
    /// notice's id and the email.
    SignupAttempt { id: String, email: Email },
    /// A watched product's stock (or its threshold) changed so that it may
    /// have fallen to its threshold or risen above it.
    Stock(ProductId),
    /// A product (what it is, not its stock) was written: before and after
    /// (`None`: not there), and whether its low-stock threshold changed.
    Product {
        id: ProductId,
        before: Option<Box<ProductRecord>>,
        after: Option<Box<ProductRecord>>,
        threshold_changed: bool,
    },
    /// Anything else (or an item removed).
    Other,
}

impl TableChange {
    /// Decodes one stream record's key and images.
    pub fn decode(
        keys: &HashMap<String, AttributeValue>,
        old: Option<Item>,
        new: Option<Item>,
    ) -> Result<Self, Error> {
        let part = |name: &str| match keys.get(name) {
            Some(AttributeValue::S(value)) => value.as_str(),
            _ => "",
        };
        let (pk, sk) = (part(PARTITION_KEY), part(super::SORT_KEY));
        // Tokens and notices announce themselves once, when written.
        let inserted = old.is_none();
        match new {
            Some(new) if inserted && pk.starts_with("TOKEN#") && sk == "TOKEN" => {
                return Ok(Self::Token(Box::new(serde_dynamo::from_item(new)?)));
            }
            Some(new) if inserted && pk.starts_with("SIGNUP_NOTICE#") && sk == "NOTICE" => {
                #[derive(Deserialize)]
                struct Notice {
                    email: Email,
                }
                let notice: Notice = serde_dynamo::from_item(new)?;
                return Ok(Self::SignupAttempt {
                    id: pk.trim_start_matches("SIGNUP_NOTICE#").replace('#', "-"),
                    email: notice.email,
                });
            }
            _ => {}
        }
        if pk.starts_with("PRODUCT#") && sk == keys::PRODUCT_SK {
            let record = |item: Option<Item>| -> Result<Option<Box<ProductRecord>>, Error> {
                Ok(match item {
                    Some(item) => Some(Box::new(serde_dynamo::from_item(item)?)),
                    None => None,
                })
            };
            let threshold_changed = matches!(stock_change(sk, old.as_ref(), new.as_ref()), Self::Stock(_));
            let (before, after) = (record(old)?, record(new)?);
            let Some(id) = after.as_ref().or(before.as_ref()).map(|p| p.id.clone()) else {
                return Ok(Self::Other);
            };
            return Ok(Self::Product {
                id,
                before,
                after,
                threshold_changed,
            });
        }
        if pk.starts_with("PRODUCT#") {
            return Ok(stock_change(sk, old.as_ref(), new.as_ref()));
        }
        if !(pk.starts_with("ORDER#") && sk == "ORDER") {
            return Ok(Self::Other);
        }
        let Some(new) = new else {
            return Ok(Self::Other);
        };
        let (after, seq) = order_with_seq(new)?;
        let before = match old {
            Some(old) => Some(Box::new(order_with_seq(old)?.0)),
            None => None,
        };
        Ok(Self::Order {
            before,
            after: Box::new(after),
            seq,
        })
    }
}

/// What a change of a product's item means to its low-stock alert: a
/// counter of a watched product that now holds at most the threshold, or
/// whose stock rose (a cancellation, a restock), or a product whose
/// threshold changed. A counter that fell and still holds more than the
/// threshold cannot have brought the product to it.
fn stock_change(sk: &str, old: Option<&Item>, new: Option<&Item>) -> TableChange {
    let number =
        |item: Option<&Item>, name: &str| -> Option<i64> { item?.get(name)?.as_n().ok()?.parse().ok() };
    let product = || {
        let id = new?.get("product_id").or_else(|| new?.get("id"))?.as_s().ok()?;
        ProductId::parse(id).ok()
    };
    let watched = match sk {
        keys::PRODUCT_SK => {
            number(old, "low_stock_threshold") != number(new, "low_stock_threshold") && new.is_some()
        }
        keys::STOCK_SK => match (number(new, "low_stock_threshold"), number(new, "stock")) {
            (Some(threshold), Some(stock)) => match number(old, "stock") {
                Some(before) if stock < before => stock <= threshold,
                Some(before) => stock > before || number(old, "low_stock_threshold") != Some(threshold),
                None => true,
            },
            _ => false,
        },
        _ => false,
    };
    match product() {
        Some(id) if watched => TableChange::Stock(id),
        _ => TableChange::Other,
    }
}

/// A sender's claim on one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This sender holds it until its lease ends: send, then finish.
    Mine(Claimed),
    /// Sent (or suppressed) already.
    Done,
    /// Another sender holds it and its lease has not ended.
    Held,
}

/// A claim held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub channel: String,
    pub event_id: String,
}

/// A notification not done, as `shopctl` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub channel: String,
    pub event_id: String,
    pub claimed_at: Timestamp,
    pub lease_until: i64,
    pub attempts: u32,
    /// What it was to send (an event's detail, an email's template and
    /// order), so that it can be sent again by hand.
    pub intent: String,
}

impl Store {
    /// Claims the notification of `event_id` on `channel` for `lease_secs`:
    /// one conditional `UpdateItem` that succeeds on a notification never
    /// claimed or whose sender's lease ran out (it died mid-send). `intent`
    /// is kept with it.
    pub async fn claim_notification(
        &self,
        channel: &str,
        event_id: &str,
        intent: &str,
        now: Timestamp,
        lease_secs: i64,
    ) -> Result<Claim, Error> {
        let item_key = keys::notification(channel, event_id);
        let changes = Changes::new()
            .set("channel", s(channel))
            .set("event_id", s(event_id))
            .set("state", s(CLAIMED))
            .set("intent", s(intent))
            .set("claimed_at", s(now.to_string()))
            .set("lease_until", n(now.unix() + lease_secs))
            .add("attempts", n(1))
            .set(
                GSI1.partition_key,
                s(keys::notifications_claimed(channel, event_id)),
            )
            .set(GSI1.sort_key, s(format!("{now}#{channel}#{event_id}")))
            .set(TTL_ATTRIBUTE, n(now.unix() + CLAIM_KEPT_SECS))
            .when(
                attr(PARTITION_KEY).not_exists().or(attr("state")
                    .eq(s(CLAIMED))
                    .and(attr("lease_until").lt(n(now.unix())))),
            );
        if self.update_if(item_key.clone(), changes).await? {
            return Ok(Claim::Mine(Claimed {
                channel: channel.to_owned(),
                event_id: event_id.to_owned(),
            }));
        }
        let state = self
            .get(item_key, Read::Strong)
            .await?
            .and_then(|item| match item.get("state") {
                Some(AttributeValue::S(state)) => Some(state.clone()),
                _ => None,
            });
        Ok(if state.as_deref() == Some(DONE) {
            Claim::Done
        } else {
            Claim::Held
        })
    }

    /// Marks a claimed notification done with its `outcome` (`sent`,
    /// `suppressed`) and what the provider answered (SES's message id); it
    /// leaves the index of those not done.
    pub async fn finish_notification(
        &self,
        claimed: &Claimed,
        outcome: &str,
        reference: Option<&str>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let mut changes = Changes::new()
            .set("state", s(DONE))
            .set("outcome", s(outcome))
            .set("done_at", s(now.to_string()))
            .remove(GSI1.partition_key)
            .remove(GSI1.sort_key);
        if let Some(reference) = reference {
            changes = changes.set("reference", s(reference));
        }
        self.update_existing(keys::notification(&claimed.channel, &claimed.event_id), changes)
            .await
    }

    /// Notifications claimed and not done, oldest first (at most `limit`):
    /// the oldest `limit` of each shard, at once, merged.
    pub async fn pending_notifications(&self, limit: usize) -> Result<Vec<Pending>, Error> {
        let shards = (0..keys::NOTIFY_SHARDS).map(|shard| {
            self.query_index(super::IndexQuery {
                gsi: &GSI1,
                partition: keys::notifications_shard(shard),
                below: None,
                newest_first: false,
                limit,
                start: None,
            })
        });
        let mut all: Vec<Pending> = Vec::new();
        for shard in futures::future::join_all(shards).await {
            let (items, _) = shard?;
            for item in items {
                all.push(serde_dynamo::from_item(item)?);
            }
        }
        all.sort_by_key(|pending| pending.claimed_at);
        all.truncate(limit);
        Ok(all)
    }

    /// The intent a notification was claimed with.
    pub async fn notification_intent(&self, channel: &str, event_id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .get(keys::notification(channel, event_id), Read::Strong)
            .await?
            .and_then(|item| match item.get("intent") {
                Some(AttributeValue::S(intent)) => Some(intent.clone()),
                _ => None,
            }))
    }

    /// Whether no email may go to `email` (it bounced or complained).
    pub async fn is_suppressed(&self, email: &Email) -> Result<bool, Error> {
        Ok(self.get(keys::suppressed(email), Read::Eventual).await?.is_some())
    }

    /// Puts `email` on the suppression list for `reason` (`bounce`,
    /// `complaint`); a second report keeps the first.
    pub async fn suppress(&self, email: &Email, reason: &str, now: Timestamp) -> Result<bool, Error> {
        #[derive(Serialize)]
        struct Suppressed<'a> {
            email: &'a str,
            reason: &'a str,
            at: String,
        }
        let record = item(
            keys::suppressed(email),
            &Suppressed {
                email: email.as_str(),
                reason,
                at: now.to_string(),
            },
        )?;
        self.put_if(record, attr(PARTITION_KEY).not_exists()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCT: &str = "0193a1b2-0000-7000-8000-000000000003";

    fn counter(stock: i64, threshold: Option<i64>) -> Item {
        let mut item: Item = [
            ("product_id".to_owned(), s(PRODUCT)),
            ("stock".to_owned(), n(stock)),
        ]
        .into();
        if let Some(threshold) = threshold {
            item.insert("low_stock_threshold".into(), n(threshold));
        }
        item
    }

    fn seen(sk: &str, old: Option<Item>, new: Option<Item>) -> bool {
        matches!(stock_change(sk, old.as_ref(), new.as_ref()), TableChange::Stock(id) if id.to_string() == PRODUCT)
    }

    #[test]
    fn only_changes_that_can_move_a_watched_products_alert_are_read() {
        let stock = keys::STOCK_SK;
        assert!(
            seen(stock, Some(counter(6, Some(5))), Some(counter(5, Some(5)))),
            "fell to it"
        );
        assert!(
            !seen(stock, Some(counter(9, Some(5))), Some(counter(6, Some(5)))),
            "still above"
        );
        assert!(
            seen(stock, Some(counter(2, Some(5))), Some(counter(3, Some(5)))),
            "rose: may clear"
        );
        assert!(seen(stock, None, Some(counter(40, Some(5)))), "a new counter");
        assert!(
            !seen(stock, Some(counter(6, None)), Some(counter(1, None))),
            "not watched"
        );
        assert!(
            !seen(stock, Some(counter(3, Some(5))), Some(counter(3, Some(5)))),
            "a rating"
        );
        assert!(
            seen(stock, Some(counter(3, None)), Some(counter(3, Some(5)))),
            "now watched"
        );
        let product = |threshold| {
            let mut item = counter(0, threshold);
            item.remove("product_id");
            item.insert("id".into(), s(PRODUCT));
            item
        };
        let sk = keys::PRODUCT_SK;
        assert!(seen(sk, None, Some(product(Some(5)))), "created watched");
        assert!(
            seen(sk, Some(product(Some(5))), Some(product(None))),
            "no longer watched"
        );
        assert!(
            !seen(sk, Some(product(Some(5))), Some(product(Some(5)))),
            "renamed"
        );
        assert!(!seen(sk, Some(product(Some(5))), None), "removed");
    }
}
