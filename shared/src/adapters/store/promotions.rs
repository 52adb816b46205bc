//! Promotions (`PROMOTION#<id>` / `PROMOTION`, listed in GSI1
//! `PROMOTIONS`), the claims that keep a code to one promotion
//! (`PROMOCODE#<CODE>` / `PROMOTION`), the counters its uses are spread
//! over (`PROMOTION#<id>#USES#<k>` / `USES`: `used`, `left`) and each
//! customer's uses (`PROMOTION#<id>#CUSTOMER#<user>` / `USES`: `uses`).
//! A redemption is part of the order's own transaction; a release gives
//! it back in the release's.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::expr::{Changes, Conditional, Updates, attr};
use super::{GSI1, Item, PARTITION_KEY, Read, Store, item, key, keys, n, put, s, update};
use crate::foundation::error::Error;
use crate::foundation::ids::UserId;
use crate::model::orders::Order;
use crate::model::promotions::Promotion;
use crate::model::promotions::uses::{Allotment, Redemption, UseCounter, UsesRead, allot};

/// A promotion as stored: its rules, how many counters its uses are
/// spread over, and its version.
#[derive(Serialize, Deserialize)]
struct PromotionItem {
    #[serde(flatten)]
    promotion: Promotion,
    counters: u8,
    version: u64,
}

fn promotion(stored: PromotionItem) -> Promotion {
    Promotion {
        counters: stored.counters,
        version: stored.version,
        ..stored.promotion
    }
}

#[derive(Serialize)]
struct CodeClaim<'a> {
    promotion_id: &'a str,
}

#[derive(Serialize)]
struct NewCounter {
    used: i64,
    left: i64,
}

/// What writing a promotion came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotionWrite {
    Written,
    /// Another promotion holds its code.
    CodeTaken,
    /// It changed since it was read, or a redemption took a use the new
    /// allotments counted on: read and try again.
    Contended,
}

impl Store {
    /// Writes a new promotion, claims its code and writes its counters
    /// (their allotments summing to its limit), in one transaction.
    pub async fn create_promotion(&self, new: &Promotion) -> Result<PromotionWrite, Error> {
        let mut items = vec![self.promotion_put(new, None)?];
        if let Some(code) = &new.code {
            let claim = item(
                keys::promotion_code(code),
                &CodeClaim {
                    promotion_id: &new.id,
                },
            )?;
            items.push(put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(claim))
                .when(attr(PARTITION_KEY).not_exists()))?);
        }
        let allotments = allot(new.usage_limit, &[], new.counters)
            .map_err(|_| Error::internal("a new promotion's counters"))?;
        items.extend(self.allotments(&new.id, &allotments)?);
        Ok(match self.transact(items).await? {
            Ok(()) => PromotionWrite::Written,
            Err(codes)
                if new.code.is_some() && codes.get(1).is_some_and(|c| c == "ConditionalCheckFailed") =>
            {
                PromotionWrite::CodeTaken
            }
            Err(_) => PromotionWrite::Contended,
        })
    }

    /// Writes `next` over `before` (conditional on its version), with the
    /// counters' new allotments when its limit changed.
    pub async fn update_promotion(
        &self,
        next: &Promotion,
        before: &Promotion,
        allotments: &[Allotment],
    ) -> Result<PromotionWrite, Error> {
        let mut items = vec![self.promotion_put(next, Some(before.version))?];
        items.extend(self.allotments(&next.id, allotments)?);
        Ok(match self.transact(items).await? {
            Ok(()) => PromotionWrite::Written,
            Err(_) => PromotionWrite::Contended,
        })
    }

    pub async fn get_promotion(&self, id: &str) -> Result<Option<Promotion>, Error> {
        Ok(self
            .get_as::<PromotionItem, _>(keys::promotion(id), Read::Strong)
            .await?
            .map(promotion))
    }

    /// Every promotion, oldest first (one index partition, a page of 100
    /// at a time).
    pub async fn list_promotions(&self) -> Result<Vec<Promotion>, Error> {
        Ok(self
            .list_partition::<PromotionItem>(keys::PROMOTIONS)
            .await?
            .into_iter()
            .map(promotion)
            .collect())
    }

    /// The counters of `promotions` and, with `customer`, that customer's
    /// uses of those with a per-customer limit: `BatchGetItem`s of them
    /// all (a counter never written reads as unused, nothing left).
    pub async fn promotion_uses(
        &self,
        promotions: &[&Promotion],
        customer: Option<&UserId>,
        consistent: bool,
    ) -> Result<BTreeMap<String, UsesRead>, Error> {
        let mut wanted = Vec::new();
        let mut found: BTreeMap<String, UsesRead> = BTreeMap::new();
        let mut owner: BTreeMap<String, (String, Option<u8>)> = BTreeMap::new();
        for p in promotions {
            found.insert(p.id.clone(), UsesRead::default());
            for k in 0..p.counters.max(1) {
                let at = keys::promotion_uses(&p.id, k);
                owner.insert(at.0.clone(), (p.id.clone(), Some(k)));
                wanted.push(key(at));
            }
            if let (Some(user), Some(_)) = (customer, p.per_customer_limit) {
                let at = keys::promotion_customer(&p.id, user);
                owner.insert(at.0.clone(), (p.id.clone(), None));
                wanted.push(key(at));
            }
        }
        if wanted.is_empty() {
            return Ok(found);
        }
        for record in self.batch_get(wanted, consistent).await? {
            let Some(AttributeValue::S(pk)) = record.get(PARTITION_KEY) else {
                continue;
            };
            let Some((id, counter)) = owner.get(pk) else {
                continue;
            };
            let Some(uses) = found.get_mut(id) else {
                continue;
            };
            match counter {
                Some(counter) => uses.counters.push(UseCounter {
                    counter: *counter,
                    used: number(&record, "used"),
                    left: number(&record, "left"),
                }),
                None => uses.by_customer = u32::try_from(number(&record, "uses")).unwrap_or(u32::MAX),
            }
        }
        for uses in found.values_mut() {
            uses.counters.sort_by_key(|c| c.counter);
        }
        Ok(found)
    }

    /// The promotion's item, listed, over `version` (`None`: new).
    fn promotion_put(&self, p: &Promotion, version: Option<u64>) -> Result<TransactWriteItem, Error> {
        let mut record = item(
            keys::promotion(&p.id),
            &PromotionItem {
                promotion: p.clone(),
                counters: p.counters,
                version: p.version,
            },
        )?;
        record.insert(GSI1.partition_key.into(), s(keys::PROMOTIONS));
        record.insert(GSI1.sort_key.into(), s(keys::by_time(p.created_at, &p.id)));
        let unchanged = match version {
            None => attr(PARTITION_KEY).not_exists(),
            Some(version) => attr("version").eq(n(version)),
        };
        put(Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .when(unchanged))
    }

    /// The counters' writes for `allotments`: a new counter whole, an
    /// existing one's `left` moved by the change (never below 0: a use
    /// taken since the read fails the condition, and the caller reads
    /// again).
    fn allotments(&self, id: &str, allotments: &[Allotment]) -> Result<Vec<TransactWriteItem>, Error> {
        allotments
            .iter()
            .filter(|a| !a.exists || a.change != 0)
            .map(|a| {
                let at = keys::promotion_uses(id, a.counter);
                if a.exists {
                    let mut changes = Changes::new().add("left", n(a.change));
                    if a.change < 0 {
                        changes = changes.when(attr("left").ge(n(-a.change)));
                    }
                    update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(at)))
                            .changes(changes),
                    )
                } else {
                    put(Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item(
                            at,
                            &NewCounter {
                                used: 0,
                                left: a.change,
                            },
                        )?))
                        .when(attr(PARTITION_KEY).not_exists()))
                }
            })
            .collect()
    }

    /// An order's redemptions, as items of its transaction: a use taken
    /// from its counter (conditional on one being left) and, against a
    /// per-customer limit, the customer's count up (conditional on staying
    /// within it).
    pub(super) fn redemptions(&self, order: &Order) -> Result<Vec<TransactWriteItem>, Error> {
        self.uses_changes(order, 1)
    }

    /// Every use `order` took, given back where it came from (in the
    /// release's transaction, which runs once per order).
    pub(super) fn give_backs(&self, order: &Order) -> Result<Vec<TransactWriteItem>, Error> {
        self.uses_changes(order, -1)
    }

    /// `uses` (1: taken, −1: given back) for each of `order`'s redemptions:
    /// on its counter, and on the customer's count when it has a limit.
    fn uses_changes(&self, order: &Order, uses: i64) -> Result<Vec<TransactWriteItem>, Error> {
        let mut items = Vec::new();
        for r in &order.redemptions {
            items.push(self.counter_change(r, uses)?);
            if let Some(limit) = r.per_customer_limit {
                let mut changes = Changes::new().add("uses", n(uses));
                if uses > 0 {
                    changes = changes.when(attr("uses").not_exists().or(attr("uses").lt(n(limit))));
                }
                let at = keys::promotion_customer(&r.promotion_id, &order.user_id);
                items.push(update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(at)))
                        .changes(changes),
                )?);
            }
        }
        Ok(items)
    }

    /// `uses` (1: taken, −1: given back) on the counter `r` names.
    fn counter_change(&self, r: &Redemption, uses: i64) -> Result<TransactWriteItem, Error> {
        let mut changes = Changes::new().add("used", n(uses)).add("left", n(-uses));
        if uses > 0 {
            changes = changes.when(attr("left").ge(n(uses)));
        }
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::promotion_uses(&r.promotion_id, r.counter))))
                .changes(changes),
        )
    }
}

fn number(record: &Item, name: &str) -> i64 {
    match record.get(name) {
        Some(AttributeValue::N(text)) => text.parse().unwrap_or(0),
        _ => 0,
    }
}
