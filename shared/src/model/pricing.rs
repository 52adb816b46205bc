//! The pricing engine: every figure of a cart or an order (openapi.yaml,
//! "Carts and checkout", "Tax", "Duties") from its lines, the market's
//! rules, the destination's tax rates and duty rule, and the discounts of
//! promotions. Pure and deterministic, in integer minor units; exact
//! values are `rust_decimal`, rounded half up once, to the currency's
//! smallest step (10 in the three-decimal currencies).
//!
//! The pipeline: line amounts → discounts (given, per line) → tax (per
//! line, or per category and rate spread by largest remainder) → duty (on
//! the customs value) → totals:
//! `total = subtotal − Σ line discount + shipping + (tax_total if
//! exclusive) + (duties if ddp)`.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::foundation::money::Currency;
use crate::model::markets::{Duties, TaxMode, TaxRounding};
use crate::model::products::TaxCategory;

/// A rate in percent: a decimal string from 0 to 100 with at most 4
/// fractional digits (`"19"`, `"14.975"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Percent(Decimal);

/// Fractional digits a percent may have.
pub const PERCENT_DIGITS: usize = 4;

impl Percent {
    pub const ZERO: Self = Self(Decimal::ZERO);

    /// Digits, an optional point and 1 to 4 fractional digits, no leading
    /// zeros, from 0 to 100.
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::foundation::input::plain_decimal(text, 3, PERCENT_DIGITS)
            .filter(|value| *value <= Decimal::ONE_HUNDRED)
            .map(|value| Self(value.normalize()))
            .ok_or_else(|| {
                "must be a percent as a decimal string from \"0\" to \"100\", at most 4 decimals".to_owned()
            })
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl TryFrom<String> for Percent {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Percent> for String {
    fn from(percent: Percent) -> Self {
        percent.0.to_string()
    }
}

/// `value` (exact, in minor units) rounded half up to a whole number of
/// `step`s. Negative values do not occur (every input is a count).
pub fn round_to_step(value: Decimal, step: i64) -> i64 {
    let step = Decimal::from(step);
    ((value / step).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) * step)
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// `total` (a whole number of `step`s, the rounded sum of `exact`) spread
/// over the exact shares: each floored to a step, then the steps left go
/// one each to the shares with the largest remainders; ties go to the
/// larger line (`sizes`), then the earlier. The parts sum to `total`
/// exactly.
pub fn largest_remainder(total: i64, exact: &[Decimal], sizes: &[i64], step: i64) -> Vec<i64> {
    let step_dec = Decimal::from(step);
    let mut parts: Vec<i64> = exact
        .iter()
        .map(|share| {
            ((*share / step_dec).floor() * step_dec)
                .to_i64()
                .unwrap_or(0)
                .max(0)
        })
        .collect();
    let mut left = total - parts.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        let remainder = |i: usize| exact[i] - Decimal::from(parts[i]);
        remainder(b)
            .cmp(&remainder(a))
            .then(sizes.get(b).cmp(&sizes.get(a)))
            .then(a.cmp(&b))
    });
    let mut next = order.iter().cycle();
    while left >= step && !exact.is_empty() {
        if let Some(&i) = next.next() {
            parts[i] += step;
            left -= step;
        }
    }
    parts
}

/// A line to price: its unit price in the market's currency (minor
/// units), quantity, what tax and duty need of its product, and its
/// discount (0 until promotions: taken off `amount` before tax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub unit_price: i64,
    pub quantity: u32,
    pub tax_category: TaxCategory,
    /// The HS chapter (the first two digits of `hs_code`), if any.
    pub hs_chapter: Option<String>,
    /// Whether it is made in the destination country (then no duty).
    pub domestic: bool,
    pub discount: i64,
}

impl LineInput {
    /// `unit_price` × `quantity`.
    pub fn amount(&self) -> i64 {
        self.unit_price * i64::from(self.quantity)
    }
}

/// The destination's tax rates: per category, with the region's replacing
/// the country's (the combined rate); a category without one is taxed at
/// 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxRatesAt {
    pub rates: BTreeMap<TaxCategory, Percent>,
}

impl TaxRatesAt {
    fn rate(&self, category: &TaxCategory) -> Percent {
        self.rates.get(category).copied().unwrap_or(Percent::ZERO)
    }

    fn standard(&self) -> Percent {
        self.rate(&TaxCategory::standard())
    }
}

/// The destination's duty rule, its threshold in the market's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyRule {
    pub threshold: i64,
    pub default_rate: Percent,
    pub chapters: BTreeMap<String, Percent>,
}

impl DutyRule {
    fn rate(&self, chapter: Option<&str>) -> Percent {
        chapter
            .and_then(|c| self.chapters.get(c))
            .copied()
            .unwrap_or(self.default_rate)
    }
}

/// Everything a price depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingInput {
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub tax_rounding: TaxRounding,
    pub duties: Duties,
    pub lines: Vec<LineInput>,
    /// The shipping method's price after its discount (0: none, or free).
    pub shipping: i64,
    /// The shipping discount (in `discount_total`).
    pub shipping_discount: i64,
    pub tax: TaxRatesAt,
    /// `None`: the destination charges no duty.
    pub duty: Option<DutyRule>,
}

/// One line's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub unit_price: i64,
    pub quantity: u32,
    /// `unit_price × quantity`.
    pub amount: i64,
    pub discount: i64,
    /// After discounts, before tax.
    pub net: i64,
    pub tax: i64,
    pub tax_rate: Percent,
    pub duty: i64,
}

/// One tax group: a category and rate (shipping under `shipping`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub category: String,
    pub rate: Percent,
    /// The net amount taxed.
    pub taxable: i64,
    pub tax: i64,
}

/// The figures of a cart or an order besides its lines and total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping: i64,
    pub tax_total: i64,
    pub tax_lines: Vec<TaxLine>,
    pub duties: i64,
    pub duties_due_on_delivery: bool,
}

/// Every figure of a cart or an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub lines: Vec<PricedLine>,
    #[serde(flatten)]
    pub totals: Totals,
    pub total: i64,
}

/// Why a cart could not be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("an amount is out of range")]
    Overflow,
    #[error("a discount is larger than its line")]
    Discount,
}

/// The exact tax of `amount` at `rate`: on the net in an exclusive market,
/// the part of the gross in an inclusive one.
fn exact_tax(amount: i64, rate: Percent, mode: TaxMode) -> Decimal {
    let amount = Decimal::from(amount);
    match mode {
        TaxMode::Exclusive => amount * rate.value() / Decimal::ONE_HUNDRED,
        TaxMode::Inclusive => amount * rate.value() / (Decimal::ONE_HUNDRED + rate.value()),
        TaxMode::None => Decimal::ZERO,
    }
}

/// The tax of one group of amounts (after discounts) at one rate: per
/// line (each rounded), or once for the group and spread by largest
/// remainder. An inclusive line's net is its amount × 100 / (100 + rate)
/// rounded half up, its tax the rest; the group's the same over the sum.
fn group_tax(amounts: &[i64], rate: Percent, mode: TaxMode, rounding: TaxRounding, step: i64) -> Vec<i64> {
    let rounded = |amount: i64| match mode {
        TaxMode::Exclusive => round_to_step(exact_tax(amount, rate, mode), step),
        TaxMode::Inclusive => {
            let net = round_to_step(
                Decimal::from(amount) * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + rate.value()),
                step,
            );
            amount - net
        }
        TaxMode::None => 0,
    };
    match rounding {
        TaxRounding::Line => amounts.iter().map(|a| rounded(*a)).collect(),
        TaxRounding::Order => {
            // The group's tax rounded once; each line's exact share
            // floored, and the steps left to the largest remainders.
            let total = rounded(amounts.iter().sum());
            let exact: Vec<Decimal> = amounts.iter().map(|a| exact_tax(*a, rate, mode)).collect();
            largest_remainder(total, &exact, amounts, step)
        }
    }
}

/// Prices a cart or an order.
pub fn price(input: &PricingInput) -> Result<Breakdown, PricingError> {
    let step = input.currency.step();
    let mode = input.tax_mode;
    let mut lines = Vec::with_capacity(input.lines.len());
    for line in &input.lines {
        let amount = line
            .unit_price
            .checked_mul(i64::from(line.quantity))
            .ok_or(PricingError::Overflow)?;
        if line.discount < 0 || line.discount > amount {
            return Err(PricingError::Discount);
        }
        let rate = match mode {
            TaxMode::None => Percent::ZERO,
            _ => input.tax.rate(&line.tax_category),
        };
        lines.push(PricedLine {
            unit_price: line.unit_price,
            quantity: line.quantity,
            amount,
            discount: line.discount,
            net: amount - line.discount,
            tax: 0,
            tax_rate: rate,
            duty: 0,
        });
    }

    // Tax, per category and rate; then shipping as a group of its own.
    let mut tax_lines = Vec::new();
    if mode != TaxMode::None {
        let mut groups: BTreeMap<(TaxCategory, Percent), Vec<usize>> = BTreeMap::new();
        for (i, line) in input.lines.iter().enumerate() {
            groups
                .entry((line.tax_category.clone(), lines[i].tax_rate))
                .or_default()
                .push(i);
        }
        for ((category, rate), members) in groups {
            let after: Vec<i64> = members.iter().map(|&i| lines[i].net).collect();
            let taxes = group_tax(&after, rate, mode, input.tax_rounding, step);
            for (&i, tax) in members.iter().zip(&taxes) {
                lines[i].tax = *tax;
                if mode == TaxMode::Inclusive {
                    lines[i].net -= tax;
                }
            }
            tax_lines.push(TaxLine {
                category: category.as_str().to_owned(),
                rate,
                taxable: members.iter().map(|&i| lines[i].net).sum(),
                tax: taxes.iter().sum(),
            });
        }
        if input.shipping > 0 {
            let rate = input.tax.standard();
            let tax = group_tax(&[input.shipping], rate, mode, TaxRounding::Line, step)[0];
            let taxable = match mode {
                TaxMode::Inclusive => input.shipping - tax,
                _ => input.shipping,
            };
            tax_lines.push(TaxLine {
                category: "shipping".into(),
                rate,
                taxable,
                tax,
            });
        }
    }
    let tax_total: i64 = tax_lines.iter().map(|t| t.tax).sum();

    // Duty on the customs value (every line's net after discounts, before
    // tax; shipping excluded) above the threshold, for goods from abroad.
    let mut duties = 0;
    if let Some(rule) = &input.duty {
        let customs_value: i64 = lines.iter().map(|l| l.net).sum();
        if customs_value > rule.threshold {
            for (line, priced) in input.lines.iter().zip(lines.iter_mut()) {
                if !line.domestic {
                    let rate = rule.rate(line.hs_chapter.as_deref());
                    priced.duty = round_to_step(
                        Decimal::from(priced.net) * rate.value() / Decimal::ONE_HUNDRED,
                        step,
                    );
                    duties += priced.duty;
                }
            }
        }
    }

    let subtotal: i64 = lines.iter().map(|l| l.amount).sum();
    let line_discounts: i64 = lines.iter().map(|l| l.discount).sum();
    let total = subtotal - line_discounts
        + input.shipping
        + if mode == TaxMode::Exclusive { tax_total } else { 0 }
        + if input.duties == Duties::Ddp { duties } else { 0 };
    Ok(Breakdown {
        lines,
        totals: Totals {
            subtotal,
            discount_total: line_discounts + input.shipping_discount,
            shipping: input.shipping,
            tax_total,
            tax_lines,
            duties,
            duties_due_on_delivery: input.duties == Duties::Dap && duties > 0,
        },
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::money::testing::currency;

    fn pct(text: &str) -> Percent {
        Percent::parse(text).expect("a percent")
    }

    fn category(name: &str) -> TaxCategory {
        TaxCategory::parse(name.into()).expect("valid")
    }

    fn line(unit_price: i64, quantity: u32) -> LineInput {
        LineInput {
            unit_price,
            quantity,
            tax_category: TaxCategory::standard(),
            hs_chapter: None,
            domestic: false,
            discount: 0,
        }
    }

    fn input(code: &str, mode: TaxMode, rounding: TaxRounding, lines: Vec<LineInput>) -> PricingInput {
        PricingInput {
            currency: currency(code),
            tax_mode: mode,
            tax_rounding: rounding,
            duties: Duties::Dap,
            lines,
            shipping: 0,
            shipping_discount: 0,
            tax: TaxRatesAt::default(),
            duty: None,
        }
    }

    fn standard(rate: &str) -> TaxRatesAt {
        TaxRatesAt {
            rates: [(TaxCategory::standard(), pct(rate))].into(),
        }
    }

    #[test]
    fn percents_are_decimal_strings_from_0_to_100() {
        assert_eq!(String::from(pct("14.975")), "14.975");
        assert_eq!(String::from(pct("19.0")), "19");
        for bad in [
            "", "-1", "100.0001", "101", "1.23456", "01", ".5", "5.", "1e2", " 5",
        ] {
            assert!(Percent::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_largest_remainder_spread_sums_exactly_and_breaks_ties_by_size_then_order() {
        let dec = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(
            largest_remainder(56, &[dec("18.81"), dec("18.81"), dec("18.81")], &[99, 99, 99], 1),
            [19, 19, 18],
            "equal lines: the earlier first"
        );
        assert_eq!(
            largest_remainder(3, &[dec("1.5"), dec("1.5")], &[10, 20], 1),
            [1, 2],
            "equal remainders: the larger line first"
        );
        assert_eq!(
            largest_remainder(320, &[dec("123"), dec("198")], &[1230, 1980], 10),
            [120, 200],
            "in steps of 10"
        );
        assert!(largest_remainder(0, &[], &[], 1).is_empty());
    }

    /// saleor#12348 and vendure PR #4376 argue line against order
    /// rounding: both are legal, and give different cents. Three lines of
    /// 0.99 at 19 % exclusive: 18.81 cents each.
    #[test]
    fn line_and_order_rounding_each_give_their_own_exact_cents() {
        let lines = vec![line(99, 1), line(99, 1), line(99, 1)];
        let mut by_line = input("EUR", TaxMode::Exclusive, TaxRounding::Line, lines.clone());
        by_line.tax = standard("19");
        let priced = price(&by_line).expect("priced");
        assert_eq!(
            priced.lines.iter().map(|l| l.tax).collect::<Vec<_>>(),
            [19, 19, 19]
        );
        assert_eq!((priced.totals.tax_total, priced.total), (57, 354));
        let mut by_order = input("EUR", TaxMode::Exclusive, TaxRounding::Order, lines);
        by_order.tax = standard("19");
        let priced = price(&by_order).expect("priced");
        // 2.97 × 19 % = 0.5643 → 0.56, spread 19, 19, 18.
        assert_eq!(
            priced.lines.iter().map(|l| l.tax).collect::<Vec<_>>(),
            [19, 19, 18]
        );
        assert_eq!((priced.totals.tax_total, priced.total), (56, 353));
        assert_eq!(
            priced.totals.tax_lines,
            [TaxLine {
                category: "standard".into(),
                rate: pct("19"),
                taxable: 297,
                tax: 56
            }]
        );
    }

    /// vendure#2662 and #3047: an inclusive price's tax worked back off by
    /// a cent. Here a line's net is its gross × 100 / 119 rounded half up,
    /// its tax the rest: net + tax = gross on every line.
    #[test]
    fn inclusive_prices_split_into_net_and_tax_that_add_up_to_the_gross() {
        let mut cart = input(
            "EUR",
            TaxMode::Inclusive,
            TaxRounding::Line,
            vec![line(1999, 1), line(999, 3)],
        );
        cart.tax = standard("19");
        let priced = price(&cart).expect("priced");
        // 19.99 → net 16.7983 → 16.80, tax 3.19; 29.97 → 25.1849 → 25.18, 4.79.
        assert_eq!(
            priced.lines.iter().map(|l| (l.net, l.tax)).collect::<Vec<_>>(),
            [(1680, 319), (2518, 479)]
        );
        assert_eq!(
            (priced.totals.subtotal, priced.totals.tax_total, priced.total),
            (4996, 798, 4996)
        );
        // Shipping is a group of its own, taxed at the standard rate:
        // 4.90 → net 4.12, tax 0.78.
        cart.shipping = 490;
        let shipped = price(&cart).expect("priced");
        assert_eq!(
            shipped.totals.tax_lines[1],
            TaxLine {
                category: "shipping".into(),
                rate: pct("19"),
                taxable: 412,
                tax: 78
            }
        );
        assert_eq!((shipped.totals.tax_total, shipped.total), (876, 5486));
    }

    /// medusa#14818 stores fractions of a cent. Every figure here is whole
    /// steps of the currency: tens of fils in BHD.
    #[test]
    fn three_decimal_currencies_round_to_tens() {
        let mut cart = input(
            "BHD",
            TaxMode::Exclusive,
            TaxRounding::Order,
            vec![line(1230, 1), line(990, 2)],
        );
        cart.tax = standard("10");
        let priced = price(&cart).expect("priced");
        // 3.210 × 10 % = 0.321 → 0.320; exact 0.123 and 0.198 floored to
        // 0.120 and 0.190, the last 0.010 to the larger remainder.
        assert_eq!(priced.lines.iter().map(|l| l.tax).collect::<Vec<_>>(), [120, 200]);
        assert_eq!((priced.totals.tax_total, priced.total), (320, 3530));
    }

    #[test]
    fn duties_above_the_threshold_by_chapter_charged_ddp_announced_dap() {
        let mut shirt = line(15_000, 1);
        shirt.hs_chapter = Some("61".into());
        let mut local = line(5_000, 1);
        local.domestic = true;
        let mut cart = input(
            "EUR",
            TaxMode::None,
            TaxRounding::Line,
            vec![shirt, line(2_000, 1), local],
        );
        cart.duty = Some(DutyRule {
            threshold: 15_000,
            default_rate: pct("4"),
            chapters: [("61".to_owned(), pct("12"))].into(),
        });
        cart.duties = Duties::Ddp;
        let priced = price(&cart).expect("priced");
        // 220.00 > 150.00: 12 % of 150.00, 4 % of 20.00, none on local goods.
        assert_eq!(
            priced.lines.iter().map(|l| l.duty).collect::<Vec<_>>(),
            [1800, 80, 0]
        );
        assert_eq!(
            (
                priced.totals.duties,
                priced.total,
                priced.totals.duties_due_on_delivery
            ),
            (1880, 23_880, false)
        );
        cart.duties = Duties::Dap;
        let announced = price(&cart).expect("priced");
        assert_eq!(
            (
                announced.totals.duties,
                announced.total,
                announced.totals.duties_due_on_delivery
            ),
            (1880, 22_000, true)
        );
        // At the threshold, no duty.
        cart.lines = vec![line(15_000, 1)];
        assert_eq!(price(&cart).expect("priced").totals.duties, 0);
    }

    #[test]
    fn midpoints_round_half_up() {
        // 10 % of 0.05 is 0.005: 0.01.
        let mut exclusive = input("EUR", TaxMode::Exclusive, TaxRounding::Line, vec![line(5, 1)]);
        exclusive.tax = standard("10");
        assert_eq!(price(&exclusive).expect("priced").lines[0].tax, 1);
        // 0.03 gross at 20 %: net 0.025 → 0.03, tax 0.
        let mut inclusive = input("EUR", TaxMode::Inclusive, TaxRounding::Line, vec![line(3, 1)]);
        inclusive.tax = standard("20");
        let priced = price(&inclusive).expect("priced");
        assert_eq!((priced.lines[0].net, priced.lines[0].tax), (3, 0));
        // 10 % of 0.150 BHD is 0.015: 0.020 (1.5 steps of 10 fils → 2).
        let mut dinar = input("BHD", TaxMode::Exclusive, TaxRounding::Line, vec![line(150, 1)]);
        dinar.tax = standard("10");
        assert_eq!(price(&dinar).expect("priced").lines[0].tax, 20);
        // Duty: 10 % of 0.05 above a threshold of 0: 0.01.
        let mut duty = input("EUR", TaxMode::None, TaxRounding::Line, vec![line(5, 1)]);
        duty.duty = Some(DutyRule {
            threshold: 0,
            default_rate: pct("10"),
            chapters: BTreeMap::new(),
        });
        assert_eq!(price(&duty).expect("priced").totals.duties, 1);
    }

    #[test]
    fn no_tax_mode_charges_no_tax_and_lists_none() {
        let mut cart = input("USD", TaxMode::None, TaxRounding::Line, vec![line(1250, 2)]);
        cart.tax = standard("20");
        cart.shipping = 500;
        let priced = price(&cart).expect("priced");
        assert_eq!(
            (
                priced.totals.tax_total,
                priced.totals.tax_lines.len(),
                priced.total
            ),
            (0, 0, 3000)
        );
        assert_eq!(priced.lines[0].tax_rate, Percent::ZERO);
    }

    /// 10,000 random carts over every chargeable currency, both tax modes
    /// (and none), both roundings, discounts, shipping and duties.
    #[test]
    fn random_carts_hold_the_totals_formula_and_every_sum() {
        let currencies: Vec<Currency> = Currency::all()
            .filter(|c| crate::model::charges::chargeable(*c))
            .collect();
        let categories = [category("standard"), category("reduced"), category("books")];
        let mut rng = fastrand::Rng::with_seed(2026);
        for cart in 0..10_000 {
            let code = currencies[rng.usize(..currencies.len())];
            let step = code.step();
            let steps = |rng: &mut fastrand::Rng, max: i64| rng.i64(0..=max) * step;
            let mode = [TaxMode::Exclusive, TaxMode::Inclusive, TaxMode::None][rng.usize(..3)];
            let rounding = [TaxRounding::Line, TaxRounding::Order][rng.usize(..2)];
            let rate = |rng: &mut fastrand::Rng| {
                Percent::parse(&format!("{}.{:04}", rng.u32(0..30), rng.u32(0..10_000))).expect("valid")
            };
            let mut tax = TaxRatesAt::default();
            for c in &categories[..rng.usize(0..=3)] {
                tax.rates.insert(c.clone(), rate(&mut rng));
            }
            let lines: Vec<LineInput> = (0..rng.usize(1..=8))
                .map(|_| {
                    let unit_price = steps(&mut rng, 50_000).max(step);
                    let quantity = rng.u32(1..=10);
                    let amount = unit_price * i64::from(quantity);
                    LineInput {
                        unit_price,
                        quantity,
                        tax_category: categories[rng.usize(..3)].clone(),
                        hs_chapter: rng.bool().then(|| format!("{:02}", rng.u32(1..98))),
                        domestic: rng.u8(..4) == 0,
                        discount: if rng.bool() {
                            0
                        } else {
                            rng.i64(0..=amount / step) * step
                        },
                    }
                })
                .collect();
            let duty = rng.bool().then(|| DutyRule {
                threshold: steps(&mut rng, 100_000),
                default_rate: rate(&mut rng),
                chapters: [("61".to_owned(), rate(&mut rng))].into(),
            });
            let input = PricingInput {
                currency: code,
                tax_mode: mode,
                tax_rounding: rounding,
                duties: [Duties::Ddp, Duties::Dap][rng.usize(..2)],
                shipping: steps(&mut rng, 2_000),
                shipping_discount: steps(&mut rng, 500),
                lines,
                tax,
                duty,
            };
            let priced = price(&input).expect("priced");
            let here = format!("cart {cart}: {input:?} → {priced:?}");
            let discounts: i64 = priced.lines.iter().map(|l| l.discount).sum();
            assert_eq!(
                priced.total,
                priced.totals.subtotal - discounts
                    + priced.totals.shipping
                    + if mode == TaxMode::Exclusive {
                        priced.totals.tax_total
                    } else {
                        0
                    }
                    + if input.duties == Duties::Ddp {
                        priced.totals.duties
                    } else {
                        0
                    },
                "{here}"
            );
            assert_eq!(
                priced.totals.subtotal,
                priced.lines.iter().map(|l| l.amount).sum::<i64>(),
                "{here}"
            );
            assert_eq!(
                priced.totals.tax_total,
                priced.totals.tax_lines.iter().map(|t| t.tax).sum::<i64>(),
                "{here}"
            );
            assert_eq!(
                priced.totals.duties,
                priced.lines.iter().map(|l| l.duty).sum::<i64>(),
                "{here}"
            );
            assert_eq!(
                priced.totals.discount_total,
                discounts + input.shipping_discount,
                "{here}"
            );
            for line in &priced.lines {
                let after = line.amount - line.discount;
                match mode {
                    TaxMode::Inclusive => assert_eq!(line.net + line.tax, after, "{here}"),
                    _ => assert_eq!(line.net, after, "{here}"),
                }
                for figure in [line.amount, line.discount, line.net, line.tax, line.duty] {
                    assert!(figure >= 0 && figure % step == 0, "{figure} in {here}");
                }
            }
            // The contract's rounding, computed here on its own: half up
            // to the step, of a line (line rounding) or of the group
            // (order rounding); inclusive as the gross less its rounded net.
            let expected_tax = |after: i64, rate: Percent| {
                let ratio = |n: Decimal, d: Decimal| {
                    let steps = (Decimal::from(after) * n / d / Decimal::from(step))
                        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
                    (steps * Decimal::from(step)).to_i64().expect("in range")
                };
                match mode {
                    TaxMode::Exclusive => ratio(rate.value(), Decimal::ONE_HUNDRED),
                    TaxMode::Inclusive => {
                        after - ratio(Decimal::ONE_HUNDRED, Decimal::ONE_HUNDRED + rate.value())
                    }
                    TaxMode::None => 0,
                }
            };
            // Each group's lines carry exactly the group's tax, each within
            // a step of its exact share.
            for group in priced
                .totals
                .tax_lines
                .iter()
                .filter(|t| t.category != "shipping")
            {
                let members: Vec<&PricedLine> = priced
                    .lines
                    .iter()
                    .zip(&input.lines)
                    .filter(|(l, i)| i.tax_category.as_str() == group.category && l.tax_rate == group.rate)
                    .map(|(l, _)| l)
                    .collect();
                let tax: i64 = members.iter().map(|l| l.tax).sum();
                let taxable: i64 = members.iter().map(|l| l.net).sum();
                assert_eq!((tax, taxable), (group.tax, group.taxable), "{here}");
                let after: i64 = members.iter().map(|l| l.amount - l.discount).sum();
                match rounding {
                    TaxRounding::Order => assert_eq!(group.tax, expected_tax(after, group.rate), "{here}"),
                    TaxRounding::Line => {
                        for l in &members {
                            assert_eq!(l.tax, expected_tax(l.amount - l.discount, l.tax_rate), "{here}");
                        }
                    }
                }
                for l in &members {
                    let exact = exact_tax(l.amount - l.discount, l.tax_rate, mode);
                    assert!(
                        (Decimal::from(l.tax) - exact).abs() < Decimal::from(step),
                        "{l:?} off its exact share {exact} in {here}"
                    );
                }
            }
            if let Some(shipping) = priced.totals.tax_lines.iter().find(|t| t.category == "shipping") {
                assert_eq!(
                    shipping.tax,
                    expected_tax(input.shipping, shipping.rate),
                    "{here}"
                );
            }
            // Duty: on the customs value above the threshold, per line.
            let customs: i64 = priced.lines.iter().map(|l| l.net).sum();
            for (l, i) in priced.lines.iter().zip(&input.lines) {
                let expected = match &input.duty {
                    Some(rule) if customs > rule.threshold && !i.domestic => {
                        let rate = rule.rate(i.hs_chapter.as_deref()).value();
                        round_to_step(Decimal::from(l.net) * rate / Decimal::ONE_HUNDRED, step)
                    }
                    _ => 0,
                };
                assert_eq!(l.duty, expected, "{here}");
            }
            for figure in [
                priced.total,
                priced.totals.tax_total,
                priced.totals.duties,
                priced.totals.shipping,
            ] {
                assert!(figure >= 0 && figure % step == 0, "{figure} in {here}");
            }
            assert_eq!(price(&input), Ok(priced), "deterministic");
        }
    }
}
