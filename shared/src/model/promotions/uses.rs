//! A promotion's uses, spread over counters (decision 67) so that a hot
//! coupon's redemptions do not funnel through one partition, while its
//! `usage_limit` holds exactly: each counter has its own allotment of the
//! uses left (`left`), and the allotments add up to the limit less what
//! was used. A redemption takes one use from one counter, conditional on
//! `left ≥ 1`; cancellation and expiry give it back to the same counter.
//! `used` is Σ `used` over the counters, the same figures the conditions
//! guard.

use serde::{Deserialize, Serialize};

use super::{Promotion, Uses};

/// One counter per this many uses of the limit…
pub const USES_PER_COUNTER: u32 = 25;
/// …up to this many counters (an unlimited promotion has them all).
pub const MAX_USE_COUNTERS: u8 = 16;
/// What an unlimited promotion's counters hold as `left`: more than any
/// shop will ever redeem, so that the same condition serves both.
pub const UNLIMITED: i64 = 1_000_000_000_000;

/// How many counters a promotion with `limit` spreads its uses over.
pub fn counters_for(limit: Option<u32>) -> u8 {
    match limit {
        None => MAX_USE_COUNTERS,
        Some(limit) => u8::try_from(limit.div_ceil(USES_PER_COUNTER))
            .unwrap_or(MAX_USE_COUNTERS)
            .clamp(1, MAX_USE_COUNTERS),
    }
}

/// One counter as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseCounter {
    pub counter: u8,
    /// Uses taken from it and not given back.
    pub used: i64,
    /// Uses it may still give.
    pub left: i64,
}

/// A promotion's counters and this customer's uses, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsesRead {
    pub counters: Vec<UseCounter>,
    pub by_customer: u32,
}

impl UsesRead {
    /// Uses recorded: orders holding the promotion, not cancelled or expired.
    pub fn used(&self) -> i64 {
        self.counters.iter().map(|c| c.used).sum()
    }

    /// As eligibility judges them.
    pub fn uses(&self) -> Uses {
        Uses {
            left: Some(self.counters.iter().map(|c| c.left.max(0)).sum()),
            by_customer: self.by_customer,
        }
    }

    /// The counters a use may be taken from now.
    pub fn with_room(&self) -> Vec<u8> {
        self.counters
            .iter()
            .filter(|c| c.left >= 1)
            .map(|c| c.counter)
            .collect()
    }
}

/// A change of one counter's `left` (a new counter is written whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allotment {
    pub counter: u8,
    /// Whether the counter exists yet.
    pub exists: bool,
    /// Added to `left` (conditional on `left` staying at 0 or more).
    pub change: i64,
}

/// The counters' allotments for a new `limit` over `counters` counters
/// (never fewer than there are), from the counters as read: what is left
/// (the limit less Σ `used`) spread evenly, the first counters taking one
/// more. `Err(used)` when the limit is below the uses recorded.
pub fn allot(limit: Option<u32>, read: &[UseCounter], counters: u8) -> Result<Vec<Allotment>, i64> {
    let used: i64 = read.iter().map(|c| c.used).sum();
    let n = counters.max(u8::try_from(read.len()).unwrap_or(MAX_USE_COUNTERS));
    let room = match limit {
        Some(limit) if i64::from(limit) < used => return Err(used),
        Some(limit) => i64::from(limit) - used,
        None => UNLIMITED * i64::from(n),
    };
    let share = room / i64::from(n);
    let extra = room % i64::from(n);
    Ok((0..n)
        .map(|k| {
            let wanted = share + i64::from(i64::from(k) < extra);
            match read.iter().find(|c| c.counter == k) {
                Some(c) => Allotment {
                    counter: k,
                    exists: true,
                    change: wanted - c.left,
                },
                None => Allotment {
                    counter: k,
                    exists: false,
                    change: wanted,
                },
            }
        })
        .collect())
}

/// One promotion's use, taken by an order: from which counter, and
/// whether the customer's count of uses goes up too (against its limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub promotion_id: String,
    pub counter: u8,
    #[serde(default)]
    pub per_customer_limit: Option<u32>,
}

/// Where a priced promotion's use would come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemFrom {
    pub promotion_id: String,
    pub per_customer_limit: Option<u32>,
    /// The counters read with a use left (`None`: not read, any of
    /// `counters`).
    pub with_room: Option<Vec<u8>>,
    pub counters: u8,
}

impl RedeemFrom {
    pub fn new(promotion: &Promotion, read: Option<&UsesRead>) -> Self {
        Self {
            promotion_id: promotion.id.clone(),
            per_customer_limit: promotion.per_customer_limit,
            with_room: read.map(UsesRead::with_room),
            counters: promotion.counters.max(1),
        }
    }

    /// The use, from a counter picked by `spread` (random per attempt, so
    /// concurrent buyers spread over the counters).
    pub fn redeem(&self, spread: u64) -> Redemption {
        let pick = |n: usize| usize::try_from(spread % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0);
        let counter = match &self.with_room {
            Some(room) if !room.is_empty() => room[pick(room.len())],
            _ => u8::try_from(pick(usize::from(self.counters))).unwrap_or(0),
        };
        Redemption {
            promotion_id: self.promotion_id.clone(),
            counter,
            per_customer_limit: self.per_customer_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(counters: &[(i64, i64)]) -> Vec<UseCounter> {
        counters
            .iter()
            .enumerate()
            .map(|(k, (used, left))| UseCounter {
                counter: u8::try_from(k).expect("small"),
                used: *used,
                left: *left,
            })
            .collect()
    }

    fn after(read: &[UseCounter], allotments: &[Allotment]) -> Vec<i64> {
        allotments
            .iter()
            .map(|a| {
                let before = read.iter().find(|c| c.counter == a.counter).map_or(0, |c| c.left);
                before + a.change
            })
            .collect()
    }

    #[test]
    fn counters_grow_with_the_limit_up_to_sixteen() {
        assert_eq!(counters_for(Some(1)), 1);
        assert_eq!(counters_for(Some(25)), 1);
        assert_eq!(counters_for(Some(26)), 2);
        assert_eq!(counters_for(Some(50)), 2);
        assert_eq!(counters_for(Some(2_000)), 16);
        assert_eq!(counters_for(None), 16);
    }

    #[test]
    fn a_new_limit_spreads_what_is_left_and_sums_to_the_limit() {
        let fresh = allot(Some(50), &[], 2).expect("fits");
        assert_eq!(after(&[], &fresh), [25, 25]);
        let fresh = allot(Some(7), &[], 3).expect("fits");
        assert_eq!(after(&[], &fresh), [3, 2, 2]);

        // 30 used of 50 (20 and 10), raised to 80 over 4 counters: 50 left.
        let now = read(&[(20, 5), (10, 15)]);
        let raised = allot(Some(80), &now, 4).expect("fits");
        let left = after(&now, &raised);
        assert_eq!(left, [13, 13, 12, 12]);
        assert_eq!(left.iter().sum::<i64>() + 30, 80, "allotments + used = the limit");
        assert_eq!((raised[2].exists, raised[3].exists), (false, false));

        // Lowered to exactly what is used: nothing left anywhere.
        let lowered = allot(Some(30), &now, 2).expect("fits");
        assert_eq!(after(&now, &lowered), [0, 0]);
        assert_eq!(allot(Some(29), &now, 2), Err(30), "below used");
        // Never fewer counters than there are.
        assert_eq!(allot(Some(30), &now, 1).expect("fits").len(), 2);
    }

    #[test]
    fn unlimited_counters_never_run_out_and_still_count() {
        let now = read(&[(3, 7)]);
        let unlimited = allot(None, &now, counters_for(None)).expect("always fits");
        assert_eq!(unlimited.len(), 16);
        assert!(after(&now, &unlimited).iter().all(|left| *left == UNLIMITED));
        let uses = UsesRead {
            counters: read(&[(3, UNLIMITED), (4, UNLIMITED)]),
            by_customer: 0,
        };
        assert_eq!(uses.used(), 7);
    }

    #[test]
    fn a_use_comes_from_a_counter_with_room() {
        let promotion_counters = UsesRead {
            counters: read(&[(25, 0), (24, 1), (25, 0)]),
            by_customer: 0,
        };
        assert_eq!(promotion_counters.with_room(), [1]);
        let from = RedeemFrom {
            promotion_id: "p".into(),
            per_customer_limit: Some(1),
            with_room: Some(promotion_counters.with_room()),
            counters: 3,
        };
        for spread in 0..10 {
            assert_eq!(from.redeem(spread).counter, 1);
        }
        let unread = RedeemFrom {
            with_room: None,
            ..from
        };
        let picked: std::collections::BTreeSet<u8> = (0..30).map(|s| unread.redeem(s).counter).collect();
        assert_eq!(picked, [0, 1, 2].into(), "spread over every counter");
    }
}
