//! Promotions (openapi.yaml, "Promotions"): which ones a cart is eligible
//! for, which of those apply together (the stacking rule), and how much
//! each takes off each line and the shipping (the order of application).
//! Pure: the pricing engine takes the result as each line's `discount` and
//! the shipping discount, before tax and duty.
//!
//! The order of application: promotions with `applies_to` first, then
//! order-wide percentages, then order-wide fixed amounts (never more than
//! what remains), then free shipping. Each stage works on what the stages
//! before left; promotions within a stage on the same base (a percent is
//! not compounded), the later ones (oldest first) capped at what the
//! earlier ones of the stage left. A percent on a line is rounded half up
//! per line; any other discount is one amount spread over its lines in
//! proportion to what remains of each, by largest remainder (ties: the
//! larger line, then the earlier), so the line discounts sum exactly to
//! the promotion's amount and none exceeds what remains of its line.

pub mod input;
pub mod uses;

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::foundation::clock::Timestamp;
use crate::foundation::ids::ProductId;
use crate::foundation::money::Currency;
use crate::model::markets::MarketCode;
use crate::model::pricing::{Percent, largest_remainder, round_to_step};
use crate::model::products::Category;

/// What a promotion takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A percent of what it applies to.
    Percent { percent: Percent },
    /// An amount per currency (not eligible in a currency it has none for).
    Fixed { amounts: BTreeMap<Currency, i64> },
    /// The shipping, whole.
    FreeShipping,
}

/// The products a promotion is limited to: these ids, or these
/// categories, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliesTo {
    #[serde(default)]
    pub product_ids: BTreeSet<ProductId>,
    #[serde(default)]
    pub categories: BTreeSet<Category>,
}

impl AppliesTo {
    fn covers(&self, line: &DiscountLine) -> bool {
        self.product_ids.contains(&line.product_id) || self.categories.contains(&line.category)
    }
}

/// A promotion's rules (its counters of uses live elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub id: String,
    pub name: String,
    /// `None`: automatic, applied to every cart eligible for it.
    pub code: Option<String>,
    pub active: bool,
    #[serde(flatten)]
    pub kind: Kind,
    pub applies_to: Option<AppliesTo>,
    /// The goods subtotal before discounts a cart needs, per currency.
    pub min_subtotal: Option<BTreeMap<Currency, i64>>,
    pub markets: Option<BTreeSet<MarketCode>>,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub usage_limit: Option<u32>,
    pub per_customer_limit: Option<u32>,
    pub combinable: bool,
    pub created_at: Timestamp,
    /// How many counters its uses are spread over (the store keeps it
    /// beside the promotion; see [`uses`]).
    #[serde(skip)]
    pub counters: u8,
    /// Counts its changes; a change is written over the version read.
    #[serde(skip)]
    pub version: u64,
}

/// Why a promotion does not apply (`COUPON_NOT_APPLICABLE`, `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicable {
    Unknown,
    Inactive,
    NotStarted,
    Expired,
    Market,
    Currency,
    MinSubtotal,
    Exhausted,
    CustomerLimit,
    NotCombinable,
}

impl NotApplicable {
    /// As the contract writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Inactive => "inactive",
            Self::NotStarted => "not_started",
            Self::Expired => "expired",
            Self::Market => "market",
            Self::Currency => "currency",
            Self::MinSubtotal => "min_subtotal",
            Self::Exhausted => "exhausted",
            Self::CustomerLimit => "customer_limit",
            Self::NotCombinable => "not_combinable",
        }
    }
}

/// A promotion's discount on a cart or an order, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub promotion_id: String,
    pub code: Option<String>,
    pub name: String,
    pub amount: i64,
}

/// What eligibility is judged against.
#[derive(Debug, Clone, Copy)]
pub struct CartFacts<'a> {
    pub market: &'a MarketCode,
    pub currency: Currency,
    /// The goods subtotal before discounts.
    pub subtotal: i64,
    pub now: Timestamp,
}

/// What is known of a promotion's uses: how many are left over all its
/// counters (`None`: not read; it is not judged exhausted, and the
/// redemption's condition decides), and this customer's uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uses {
    pub left: Option<i64>,
    pub by_customer: u32,
}

impl Promotion {
    /// Whether it applies to a cart: the first rule it fails, in the
    /// contract's order.
    pub fn eligible(&self, cart: &CartFacts<'_>, uses: Uses) -> Result<(), NotApplicable> {
        if !self.active {
            return Err(NotApplicable::Inactive);
        }
        if cart.now < self.starts_at {
            return Err(NotApplicable::NotStarted);
        }
        if self.ends_at.is_some_and(|end| cart.now >= end) {
            return Err(NotApplicable::Expired);
        }
        if self.markets.as_ref().is_some_and(|m| !m.contains(cart.market)) {
            return Err(NotApplicable::Market);
        }
        let fixed_missing =
            matches!(&self.kind, Kind::Fixed { amounts } if !amounts.contains_key(&cart.currency));
        let min = self.min_subtotal.as_ref().map(|m| m.get(&cart.currency));
        if fixed_missing || matches!(min, Some(None)) {
            return Err(NotApplicable::Currency);
        }
        if min.flatten().is_some_and(|min| cart.subtotal < *min) {
            return Err(NotApplicable::MinSubtotal);
        }
        // The counters are the truth (a limit changed a moment ago may not
        // be in this function's copy of the promotion yet).
        if uses.left.is_some_and(|left| left <= 0) {
            return Err(NotApplicable::Exhausted);
        }
        if self
            .per_customer_limit
            .is_some_and(|limit| uses.by_customer >= limit)
        {
            return Err(NotApplicable::CustomerLimit);
        }
        Ok(())
    }

    /// The stage it applies in (1: `applies_to`, 2: order-wide percent, 3:
    /// order-wide fixed, 4: free shipping).
    fn stage(&self) -> u8 {
        match (&self.kind, &self.applies_to) {
            (Kind::FreeShipping, _) => 4,
            (_, Some(_)) => 1,
            (Kind::Percent { .. }, None) => 2,
            (Kind::Fixed { .. }, None) => 3,
        }
    }
}

/// A line as discounts see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountLine {
    pub product_id: ProductId,
    pub category: Category,
    /// `unit_price` × `quantity`.
    pub amount: i64,
}

/// One promotion's part of the discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub promotion_id: String,
    /// Off each line, in the cart's order.
    pub lines: Vec<i64>,
    pub shipping: i64,
    /// Σ `lines` + `shipping`.
    pub amount: i64,
}

/// Every promotion's part, and what they take off each line and the
/// shipping together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discounts {
    pub applied: Vec<Applied>,
    pub lines: Vec<i64>,
    pub shipping: i64,
}

impl Discounts {
    pub fn total(&self) -> i64 {
        self.lines.iter().sum::<i64>() + self.shipping
    }
}

/// `total` (≤ Σ `base`) spread over the lines in proportion to `base`, by
/// largest remainder: the parts sum to `total`, none above its base.
fn spread(total: i64, base: &[i64], step: i64) -> Vec<i64> {
    let sum: i64 = base.iter().sum();
    if sum == 0 || total == 0 {
        return vec![0; base.len()];
    }
    let exact: Vec<Decimal> = base
        .iter()
        .map(|b| Decimal::from(total) * Decimal::from(*b) / Decimal::from(sum))
        .collect();
    largest_remainder(total, &exact, base, step)
}

/// What `promotion` takes off, on `base` (what remains of each line when
/// its stage starts) and `shipping`, in `currency`.
fn take(
    promotion: &Promotion,
    lines: &[DiscountLine],
    base: &[i64],
    shipping: i64,
    currency: Currency,
) -> (Vec<i64>, i64) {
    let step = currency.step();
    let covered: Vec<i64> = lines
        .iter()
        .zip(base)
        .map(|(line, b)| match &promotion.applies_to {
            Some(to) if !to.covers(line) => 0,
            _ => *b,
        })
        .collect();
    match (&promotion.kind, &promotion.applies_to) {
        // Free shipping limited to products: when the cart holds one.
        (Kind::FreeShipping, Some(to)) if !lines.iter().any(|line| to.covers(line)) => {
            (vec![0; lines.len()], 0)
        }
        (Kind::FreeShipping, _) => (vec![0; lines.len()], shipping),
        (Kind::Percent { percent }, Some(_)) => (
            covered
                .iter()
                .map(|b| {
                    round_to_step(Decimal::from(*b) * percent.value() / Decimal::ONE_HUNDRED, step).min(*b)
                })
                .collect(),
            0,
        ),
        (Kind::Percent { percent }, None) => {
            let sum: i64 = covered.iter().sum();
            let amount =
                round_to_step(Decimal::from(sum) * percent.value() / Decimal::ONE_HUNDRED, step).min(sum);
            (spread(amount, &covered, step), 0)
        }
        (Kind::Fixed { amounts }, _) => {
            let sum: i64 = covered.iter().sum();
            let amount = amounts.get(&currency).copied().unwrap_or(0).clamp(0, sum);
            (spread(amount, &covered, step), 0)
        }
    }
}

/// Applies `promotions` (already chosen to apply together) to `lines` and
/// `shipping`, stage by stage; within a stage oldest first (then by id),
/// each on the stage's base and capped at what the earlier ones left.
pub fn apply(
    promotions: &[&Promotion],
    lines: &[DiscountLine],
    shipping: i64,
    currency: Currency,
) -> Discounts {
    let mut ordered: Vec<&Promotion> = promotions.to_vec();
    ordered.sort_by(|a, b| (a.stage(), a.created_at, &a.id).cmp(&(b.stage(), b.created_at, &b.id)));
    let mut remaining: Vec<i64> = lines.iter().map(|l| l.amount).collect();
    let mut shipping_left = shipping;
    let mut applied = Vec::with_capacity(ordered.len());
    let mut stage_base = remaining.clone();
    let mut stage_shipping = shipping_left;
    let mut stage = 0;
    for promotion in ordered {
        if promotion.stage() != stage {
            stage = promotion.stage();
            stage_base = remaining.clone();
            stage_shipping = shipping_left;
        }
        let (wanted, wanted_shipping) = take(promotion, lines, &stage_base, stage_shipping, currency);
        let taken: Vec<i64> = wanted.iter().zip(&remaining).map(|(w, r)| (*w).min(*r)).collect();
        let taken_shipping = wanted_shipping.min(shipping_left);
        for (r, t) in remaining.iter_mut().zip(&taken) {
            *r -= t;
        }
        shipping_left -= taken_shipping;
        applied.push(Applied {
            promotion_id: promotion.id.clone(),
            amount: taken.iter().sum::<i64>() + taken_shipping,
            lines: taken,
            shipping: taken_shipping,
        });
    }
    Discounts {
        lines: lines.iter().zip(&remaining).map(|(l, r)| l.amount - r).collect(),
        shipping: shipping - shipping_left,
        applied,
    }
}

/// `promotions` applied where the shipping's price depends on the goods
/// after the line discounts (a method's `free_over`): the line stages
/// first, then the shipping they leave (`shipping_for`, given each line's
/// discount), then free shipping on it. Also answers that shipping price.
pub fn apply_priced(
    promotions: &[&Promotion],
    lines: &[DiscountLine],
    shipping_for: &dyn Fn(&[i64]) -> i64,
    currency: Currency,
) -> (Discounts, i64) {
    // The line stages do not depend on the shipping.
    let goods = apply(promotions, lines, 0, currency);
    let shipping = shipping_for(&goods.lines);
    (apply(promotions, lines, shipping, currency), shipping)
}

/// Which of `eligible` apply together: every combinable one, unless a
/// non-combinable one takes more alone than they do together (among
/// those, the largest discount, then the older, then the lower id).
pub fn stack<'a>(
    eligible: &[&'a Promotion],
    lines: &[DiscountLine],
    shipping_for: &dyn Fn(&[i64]) -> i64,
    currency: Currency,
) -> Vec<&'a Promotion> {
    let combinable: Vec<&Promotion> = eligible.iter().copied().filter(|p| p.combinable).collect();
    let together = apply_priced(&combinable, lines, shipping_for, currency).0.total();
    let best = eligible
        .iter()
        .copied()
        .filter(|p| !p.combinable)
        .map(|p| (apply_priced(&[p], lines, shipping_for, currency).0.total(), p))
        .max_by(|(a, p), (b, q)| {
            a.cmp(b)
                .then(q.created_at.cmp(&p.created_at))
                .then(q.id.cmp(&p.id))
        });
    match best {
        Some((alone, promotion)) if alone > together => vec![promotion],
        _ => combinable,
    }
}

/// The promotions a cart is offered: those whose code it holds, and the
/// automatic ones.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    /// Every promotion (as the function's cache holds them).
    pub promotions: &'a [Promotion],
    /// The cart's codes, normalised, in the order entered.
    pub codes: &'a [String],
    /// The uses read, by promotion id (absent: not read).
    pub uses: &'a BTreeMap<String, uses::UsesRead>,
}

/// What a cart is offered comes to: the promotions that apply together,
/// and each code that does not apply, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Considered<'a> {
    pub eligible: Vec<&'a Promotion>,
    pub refused: Vec<(String, NotApplicable)>,
}

/// The promotion a code names (codes are stored normalised).
pub fn by_code<'a>(promotions: &'a [Promotion], code: &str) -> Option<&'a Promotion> {
    promotions.iter().find(|p| p.code.as_deref() == Some(code))
}

/// Which promotions of `offer` a cart is eligible for: each code's (a code
/// that is unknown or not eligible is refused with its reason, and so is a
/// second non-combinable code), and every eligible automatic one.
pub fn consider<'a>(offer: Offer<'a>, cart: &CartFacts<'_>) -> Considered<'a> {
    let uses = |p: &Promotion| {
        offer
            .uses
            .get(&p.id)
            .map(uses::UsesRead::uses)
            .unwrap_or_default()
    };
    let mut eligible: Vec<&Promotion> = Vec::new();
    let mut refused = Vec::new();
    let mut exclusive_code = false;
    for code in offer.codes {
        let Some(promotion) = by_code(offer.promotions, code) else {
            refused.push((code.clone(), NotApplicable::Unknown));
            continue;
        };
        match promotion.eligible(cart, uses(promotion)) {
            Err(reason) => refused.push((code.clone(), reason)),
            Ok(()) if !promotion.combinable && exclusive_code => {
                refused.push((code.clone(), NotApplicable::NotCombinable));
            }
            Ok(()) => {
                exclusive_code |= !promotion.combinable;
                eligible.push(promotion);
            }
        }
    }
    eligible.extend(
        offer
            .promotions
            .iter()
            .filter(|p| p.code.is_none() && p.eligible(cart, uses(p)).is_ok()),
    );
    Considered { eligible, refused }
}

/// Whether a cart offered `promotion` needs its uses read to judge it: it
/// has a limit, and could apply now by its other rules.
pub fn needs_uses(promotion: &Promotion, codes: &[String], now: Timestamp) -> bool {
    let offered = match &promotion.code {
        None => true,
        Some(code) => codes.contains(code),
    };
    offered
        && promotion.active
        && promotion.starts_at <= now
        && promotion.ends_at.is_none_or(|end| now < end)
        && (promotion.usage_limit.is_some() || promotion.per_customer_limit.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::money::testing::currency;

    fn pct(text: &str) -> Percent {
        Percent::parse(text).expect("a percent")
    }

    fn category(name: &str) -> Category {
        Category::parse(name.into()).expect("valid")
    }

    fn promotion(
        id: &str,
        kind: Kind,
        applies_to: Option<AppliesTo>,
        combinable: bool,
        created: i64,
    ) -> Promotion {
        Promotion {
            id: id.into(),
            name: id.into(),
            code: None,
            active: true,
            kind,
            applies_to,
            min_subtotal: None,
            markets: None,
            starts_at: Timestamp::from_unix(0),
            ends_at: None,
            usage_limit: None,
            per_customer_limit: None,
            combinable,
            created_at: Timestamp::from_unix(created),
            counters: 1,
            version: 1,
        }
    }

    fn percent(id: &str, p: &str) -> Promotion {
        promotion(id, Kind::Percent { percent: pct(p) }, None, true, 1)
    }

    fn fixed(id: &str, code: &str, amount: i64) -> Promotion {
        promotion(
            id,
            Kind::Fixed {
                amounts: [(currency(code), amount)].into(),
            },
            None,
            true,
            2,
        )
    }

    fn lines(amounts: &[i64]) -> Vec<DiscountLine> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, a)| DiscountLine {
                product_id: ProductId::new(),
                category: category(if i % 2 == 0 { "even" } else { "odd" }),
                amount: *a,
            })
            .collect()
    }

    #[test]
    fn a_fixed_amount_spreads_over_lines_by_what_remains_exactly() {
        // €10 off 30.00 + 20.00 + 0.01: 5.9988…, 3.9992…, 0.0019… → the
        // floors 599 + 399 + 0 leave 2 cents, to the largest remainders.
        let cart = lines(&[3000, 2000, 1]);
        let ten = fixed("ten", "EUR", 1000);
        let d = apply(&[&ten], &cart, 0, currency("EUR"));
        assert_eq!(d.lines, [600, 400, 0]);
        assert_eq!(d.applied[0].amount, 1000);
        // Never more than what remains: €100 off €50.01.
        let big = fixed("big", "EUR", 10_000);
        assert_eq!(apply(&[&big], &cart, 0, currency("EUR")).lines, [3000, 2000, 1]);
    }

    #[test]
    fn stages_apply_in_order_on_what_the_stages_before_left() {
        let cart = lines(&[10_000, 5_000]);
        let shoes = promotion(
            "shoes",
            Kind::Percent { percent: pct("10") },
            Some(AppliesTo {
                categories: [category("even")].into(),
                ..AppliesTo::default()
            }),
            true,
            5,
        );
        let twenty = percent("twenty", "20");
        let five = fixed("five", "EUR", 500);
        let ship = promotion("ship", Kind::FreeShipping, None, true, 0);
        // Entered in any order: shoes (10 % of 100.00 = 10.00), then 20 %
        // of what remains (90.00 + 50.00 → 28.00, spread 18.00 / 10.00),
        // then €5 of 112.00 (72.00 / 40.00 → 3.21 / 1.79), then shipping.
        let d = apply(&[&ship, &five, &twenty, &shoes], &cart, 490, currency("EUR"));
        let parts: Vec<(&str, i64)> = d
            .applied
            .iter()
            .map(|a| (a.promotion_id.as_str(), a.amount))
            .collect();
        assert_eq!(
            parts,
            [("shoes", 1000), ("twenty", 2800), ("five", 500), ("ship", 490)]
        );
        assert_eq!(d.lines, [1000 + 1800 + 321, 1000 + 179]);
        assert_eq!((d.shipping, d.total()), (490, 4790));
        // Free shipping for a category the cart does not hold: none.
        let mut hats = promotion("hats", Kind::FreeShipping, None, true, 0);
        hats.applies_to = Some(AppliesTo {
            categories: [category("hats")].into(),
            ..AppliesTo::default()
        });
        assert_eq!(apply(&[&hats], &cart, 490, currency("EUR")).shipping, 0);
    }

    #[test]
    fn a_non_combinable_promotion_applies_alone_only_when_it_takes_more() {
        let cart = lines(&[10_000]);
        let (ten, fifteen) = (percent("ten", "10"), percent("fifteen", "15"));
        let mut alone = percent("alone", "20");
        alone.combinable = false;
        // 20 % alone (20.00) < 10 % + 15 % together (25.00).
        let chosen: Vec<&str> = stack(&[&alone, &ten, &fifteen], &cart, &|_| 0, currency("EUR"))
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(chosen, ["ten", "fifteen"]);
        let mut thirty = percent("thirty", "30");
        thirty.combinable = false;
        let chosen: Vec<&str> = stack(&[&alone, &ten, &fifteen, &thirty], &cart, &|_| 0, currency("EUR"))
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(chosen, ["thirty"]);
    }

    #[test]
    fn eligibility_names_the_first_rule_a_cart_fails() {
        let market = MarketCode::parse("eu".into()).expect("valid");
        let cart = CartFacts {
            market: &market,
            currency: currency("EUR"),
            subtotal: 4_000,
            now: Timestamp::from_unix(100),
        };
        let mut p = fixed("p", "EUR", 500);
        assert_eq!(p.eligible(&cart, Uses::default()), Ok(()));
        p.min_subtotal = Some([(currency("EUR"), 5_000)].into());
        assert_eq!(
            p.eligible(&cart, Uses::default()),
            Err(NotApplicable::MinSubtotal)
        );
        p.min_subtotal = Some([(currency("USD"), 1)].into());
        assert_eq!(p.eligible(&cart, Uses::default()), Err(NotApplicable::Currency));
        p.min_subtotal = None;
        p.usage_limit = Some(3);
        p.per_customer_limit = Some(1);
        assert_eq!(
            p.eligible(
                &cart,
                Uses {
                    left: Some(0),
                    by_customer: 0
                }
            ),
            Err(NotApplicable::Exhausted)
        );
        assert_eq!(
            p.eligible(
                &cart,
                Uses {
                    left: Some(1),
                    by_customer: 1
                }
            ),
            Err(NotApplicable::CustomerLimit)
        );
        p.ends_at = Some(Timestamp::from_unix(100));
        assert_eq!(p.eligible(&cart, Uses::default()), Err(NotApplicable::Expired));
        p.starts_at = Timestamp::from_unix(101);
        assert_eq!(p.eligible(&cart, Uses::default()), Err(NotApplicable::NotStarted));
        p.markets = Some([MarketCode::parse("us".into()).expect("valid")].into());
        p.active = false;
        assert_eq!(p.eligible(&cart, Uses::default()), Err(NotApplicable::Inactive));
        p.active = true;
        p.starts_at = Timestamp::from_unix(0);
        p.ends_at = None;
        assert_eq!(p.eligible(&cart, Uses::default()), Err(NotApplicable::Market));
        let yen = CartFacts {
            currency: currency("JPY"),
            ..cart
        };
        p.markets = None;
        assert_eq!(p.eligible(&yen, Uses::default()), Err(NotApplicable::Currency));
    }

    /// 10,000 random carts under random promotions, in random order.
    #[test]
    fn discounts_sum_exactly_never_exceed_a_line_and_ignore_the_order_given() {
        let mut rng = fastrand::Rng::with_seed(27);
        let codes = ["EUR", "JPY", "KWD", "USD"];
        for case in 0..10_000 {
            let code = codes[rng.usize(..codes.len())];
            let step = currency(code).step();
            let cart: Vec<DiscountLine> = (0..rng.usize(1..=6))
                .map(|i| DiscountLine {
                    product_id: ProductId::new(),
                    category: category(["a", "b", "c"][i % 3]),
                    amount: rng.i64(0..200_000) / step * step,
                })
                .collect();
            let shipping = rng.i64(0..2_000) / step * step;
            let mut promotions = Vec::new();
            for n in 0..rng.usize(1..=5) {
                let kind = match rng.u8(0..3) {
                    0 => Kind::Percent {
                        percent: pct(&format!("{}.{}", rng.u8(0..100), rng.u8(0..10))),
                    },
                    1 => Kind::Fixed {
                        amounts: [(currency(code), rng.i64(0..100_000) / step * step)].into(),
                    },
                    _ => Kind::FreeShipping,
                };
                let applies_to = rng.bool().then(|| AppliesTo {
                    categories: [category(["a", "b", "c"][rng.usize(..3)])].into(),
                    ..AppliesTo::default()
                });
                promotions.push(promotion(&format!("p{n}"), kind, applies_to, true, rng.i64(0..3)));
            }
            let given: Vec<&Promotion> = promotions.iter().collect();
            let d = apply(&given, &cart, shipping, currency(code));
            for applied in &d.applied {
                assert_eq!(
                    applied.lines.iter().sum::<i64>() + applied.shipping,
                    applied.amount,
                    "case {case}"
                );
                assert!(
                    applied.lines.iter().all(|l| *l >= 0 && l % step == 0),
                    "case {case}"
                );
            }
            for (line, discount) in cart.iter().zip(&d.lines) {
                assert!(
                    (0..=line.amount).contains(discount),
                    "case {case}: {discount} of {}",
                    line.amount
                );
            }
            let by_line: Vec<i64> = (0..cart.len())
                .map(|i| d.applied.iter().map(|a| a.lines[i]).sum())
                .collect();
            assert_eq!(by_line, d.lines, "case {case}");
            assert!(d.shipping <= shipping, "case {case}");
            let mut reversed = given.clone();
            reversed.reverse();
            assert_eq!(
                apply(&reversed, &cart, shipping, currency(code)),
                d,
                "case {case}: order given"
            );
            priced_after(&cart, &d, shipping, code, case);
        }
    }

    /// The discounts as the pricing engine takes them, in an inclusive
    /// market: off the gross, before tax; the totals formula holds.
    fn priced_after(cart: &[DiscountLine], d: &Discounts, shipping: i64, code: &str, case: usize) {
        use crate::model::markets::{Duties, TaxMode, TaxRounding};
        use crate::model::pricing::{LineInput, PricingInput, TaxRatesAt, price};
        use crate::model::products::TaxCategory;
        let input = PricingInput {
            currency: currency(code),
            tax_mode: TaxMode::Inclusive,
            tax_rounding: TaxRounding::Order,
            duties: Duties::Ddp,
            lines: cart
                .iter()
                .zip(&d.lines)
                .map(|(line, discount)| LineInput {
                    unit_price: line.amount,
                    quantity: 1,
                    tax_category: TaxCategory::standard(),
                    hs_chapter: None,
                    domestic: true,
                    discount: *discount,
                })
                .collect(),
            shipping: shipping - d.shipping,
            shipping_discount: d.shipping,
            tax: TaxRatesAt {
                rates: [(TaxCategory::standard(), pct("19"))].into(),
            },
            duty: None,
        };
        let priced = price(&input).expect("priced");
        for (line, figures) in cart.iter().zip(&priced.lines) {
            assert_eq!(
                figures.net + figures.tax,
                line.amount - figures.discount,
                "case {case}"
            );
        }
        let line_discounts: i64 = d.lines.iter().sum();
        assert_eq!(priced.totals.discount_total, d.total(), "case {case}");
        assert_eq!(
            priced.total,
            priced.totals.subtotal - line_discounts + priced.totals.shipping,
            "case {case}"
        );
    }
}
