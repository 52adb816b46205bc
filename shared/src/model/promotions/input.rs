//! Promotions as admins write them (`POST` and `PATCH /promotions`) and
//! read them (with `used`).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::{AppliesTo, Kind, Promotion, uses};
use crate::foundation::clock::Timestamp;
use crate::foundation::ids::ProductId;
use crate::foundation::input::{Errors, FromJson, Object, Update, bounded_text, report};
use crate::foundation::money::Currency;
use crate::model::charges::MAX_CHARGE;
use crate::model::coupons::coupon_code;
use crate::model::markets::MarketCode;
use crate::model::pricing::Percent;
use crate::model::products::Category;

/// The most products, categories, markets or currencies a promotion names.
pub const MAX_NAMED: usize = 100;
/// The largest `usage_limit` or `per_customer_limit`.
pub const MAX_LIMIT: u32 = 1_000_000_000;

/// A promotion as answered: its rules and how often it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromotionView {
    #[serde(flatten)]
    pub promotion: Promotion,
    pub used: i64,
}

/// `POST /promotions`: a promotion's fields but `id`, `used` and
/// `created_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPromotion {
    pub name: String,
    pub code: Option<String>,
    pub active: bool,
    pub kind: Kind,
    pub applies_to: Option<AppliesTo>,
    pub min_subtotal: Option<BTreeMap<Currency, i64>>,
    pub markets: Option<BTreeSet<MarketCode>>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub usage_limit: Option<u32>,
    pub per_customer_limit: Option<u32>,
    pub combinable: bool,
}

impl NewPromotion {
    /// The promotion it makes, with id `id`, at `now`.
    pub fn promotion(self, id: String, now: Timestamp) -> Promotion {
        Promotion {
            id,
            name: self.name,
            code: self.code,
            active: self.active,
            kind: self.kind,
            applies_to: self.applies_to,
            min_subtotal: self.min_subtotal,
            markets: self.markets,
            starts_at: self.starts_at.unwrap_or(now),
            ends_at: self.ends_at,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            combinable: self.combinable,
            created_at: now,
            counters: uses::counters_for(self.usage_limit),
            version: 1,
        }
    }
}

fn name(raw: String) -> Result<String, String> {
    bounded_text(raw, 1, 100)
}

fn limit(n: u32) -> Result<u32, String> {
    if (1..=MAX_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be an integer from 1 to {MAX_LIMIT}"))
    }
}

fn time(raw: String) -> Result<Timestamp, String> {
    Timestamp::parse(&raw).map_err(|_| "must be an RFC 3339 date and time".to_owned())
}

/// Amounts per currency: 1 to [`MAX_NAMED`] ISO 4217 codes, each amount
/// `min..=MAX_CHARGE` minor units and whole steps of its currency.
fn amounts_from(min: i64) -> impl FnOnce(BTreeMap<String, Value>) -> Result<BTreeMap<Currency, i64>, String> {
    move |raw| {
        if raw.is_empty() || raw.len() > MAX_NAMED {
            return Err(format!("must name 1 to {MAX_NAMED} currencies"));
        }
        raw.into_iter()
            .map(|(code, value)| {
                let currency = Currency::strict(&code)?;
                let amount = value
                    .as_i64()
                    .filter(|n| (min..=MAX_CHARGE).contains(n))
                    .ok_or_else(|| format!("{code}: must be an integer from {min} to {MAX_CHARGE}"))?;
                if amount % currency.step() != 0 {
                    return Err(format!("{code}: must be a multiple of {}", currency.step()));
                }
                Ok((currency, amount))
            })
            .collect()
    }
}

fn markets(raw: Vec<String>) -> Result<BTreeSet<MarketCode>, String> {
    if raw.is_empty() || raw.len() > MAX_NAMED {
        return Err(format!("must name 1 to {MAX_NAMED} markets"));
    }
    raw.into_iter().map(MarketCode::parse).collect()
}

impl FromJson for AppliesTo {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let bounded = |what: &'static str| {
            move |raw: Vec<String>| -> Result<Vec<String>, String> {
                if raw.len() > MAX_NAMED {
                    Err(format!("may name at most {MAX_NAMED} {what}"))
                } else {
                    Ok(raw)
                }
            }
        };
        let product_ids = o.optional("product_ids", |raw: Vec<String>| {
            bounded("products")(raw)?
                .iter()
                .map(|id| ProductId::parse(id))
                .collect::<Result<BTreeSet<_>, _>>()
        });
        let categories = o.optional("categories", |raw: Vec<String>| {
            bounded("categories")(raw)?
                .into_iter()
                .map(Category::parse)
                .collect::<Result<BTreeSet<_>, _>>()
        });
        o.end();
        let to = Self {
            product_ids: product_ids?.unwrap_or_default(),
            categories: categories?.unwrap_or_default(),
        };
        if to.product_ids.is_empty() && to.categories.is_empty() {
            report(errors, "", at, "must name products, categories or both");
            return None;
        }
        Some(to)
    }
}

/// `"0.01"`..`"100"`.
fn percent(raw: String) -> Result<Percent, String> {
    Percent::parse(&raw)
        .ok()
        .filter(|p| p.value() >= Decimal::new(1, 2))
        .ok_or_else(|| "must be a decimal string from \"0.01\" to \"100\"".to_owned())
}

impl FromJson for NewPromotion {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.required("name", name);
        let code = o.optional("code", coupon_code);
        let active = o.optional("active", |b: bool| Ok::<_, String>(b));
        let kind = o.required("kind", |k: String| match k.as_str() {
            "percent" | "fixed" | "free_shipping" => Ok(k),
            _ => Err("must be percent, fixed or free_shipping".to_owned()),
        });
        let percent = o.optional("percent", percent);
        let amounts = o.optional("amounts", amounts_from(1));
        let applies_to = o.patch_nested("applies_to").map(|to| match to {
            Update::Set(to) => Some(to),
            Update::Keep | Update::Clear => None,
        });
        let min_subtotal = o.optional("min_subtotal", amounts_from(0));
        let markets = o.optional("markets", markets);
        let starts_at = o.optional("starts_at", time);
        let ends_at = o.optional("ends_at", time);
        let usage_limit = o.optional("usage_limit", limit);
        let per_customer_limit = o.optional("per_customer_limit", limit);
        let combinable = o.optional("combinable", |b: bool| Ok::<_, String>(b));
        o.end();
        let (percent, amounts) = (percent?, amounts?);
        let kind = match kind?.as_str() {
            "percent" => match (percent, amounts) {
                (Some(percent), None) => Some(Kind::Percent { percent }),
                (None, _) => {
                    report(errors, at, "percent", "is required for a percent promotion");
                    None
                }
                (Some(_), Some(_)) => {
                    report(errors, at, "amounts", "is only for a fixed promotion");
                    None
                }
            },
            "fixed" => match (percent, amounts) {
                (None, Some(amounts)) => Some(Kind::Fixed { amounts }),
                (_, None) => {
                    report(errors, at, "amounts", "is required for a fixed promotion");
                    None
                }
                (Some(_), Some(_)) => {
                    report(errors, at, "percent", "is only for a percent promotion");
                    None
                }
            },
            _ => match (percent, amounts) {
                (None, None) => Some(Kind::FreeShipping),
                (Some(_), _) => {
                    report(errors, at, "percent", "is only for a percent promotion");
                    None
                }
                (None, Some(_)) => {
                    report(errors, at, "amounts", "is only for a fixed promotion");
                    None
                }
            },
        };
        let (starts_at, ends_at) = (starts_at?, ends_at?);
        if let (Some(start), Some(end)) = (starts_at, ends_at)
            && end <= start
        {
            report(errors, at, "ends_at", "must be after starts_at");
            return None;
        }
        Some(Self {
            name: name?,
            code: code?,
            active: active?.unwrap_or(true),
            kind: kind?,
            applies_to: applies_to?,
            min_subtotal: min_subtotal?,
            markets: markets?,
            starts_at,
            ends_at,
            usage_limit: usage_limit?,
            per_customer_limit: per_customer_limit?,
            combinable: combinable?.unwrap_or(false),
        })
    }
}

/// `PATCH /promotions/{id}`: any of `active`, `name`, `ends_at`,
/// `usage_limit` (null: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromotionPatch {
    pub active: Option<bool>,
    pub name: Option<String>,
    pub ends_at: Update<Timestamp>,
    pub usage_limit: Update<u32>,
}

impl FromJson for PromotionPatch {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let set = |update: Update<_>| match update {
            Update::Set(value) => Some(value),
            Update::Keep | Update::Clear => None,
        };
        let active = o.patch("active", |b: bool| Ok::<_, String>(b)).map(set);
        let name = o.patch("name", name).map(|u| match u {
            Update::Set(value) => Some(value),
            Update::Keep | Update::Clear => None,
        });
        let ends_at = o.nullable("ends_at", time);
        let usage_limit = o.nullable("usage_limit", limit);
        o.end();
        Some(Self {
            active: active?,
            name: name?,
            ends_at: ends_at?,
            usage_limit: usage_limit?,
        })
    }
}

impl PromotionPatch {
    /// Whether it changes the limit (and so the counters' allotments).
    pub fn changes_limit(&self) -> bool {
        !matches!(self.usage_limit, Update::Keep)
    }

    /// `promotion` with the patch applied; `ends_at` must stay after
    /// `starts_at`.
    pub fn apply(&self, mut promotion: Promotion) -> Result<Promotion, crate::foundation::error::Error> {
        if let Some(active) = self.active {
            promotion.active = active;
        }
        if let Some(name) = &self.name {
            promotion.name.clone_from(name);
        }
        match self.ends_at {
            Update::Keep => {}
            Update::Clear => promotion.ends_at = None,
            Update::Set(end) if end <= promotion.starts_at => {
                return Err(crate::foundation::error::Error::invalid(
                    "ends_at",
                    "must be after starts_at",
                ));
            }
            Update::Set(end) => promotion.ends_at = Some(end),
        }
        match self.usage_limit {
            Update::Keep => {}
            Update::Clear => promotion.usage_limit = None,
            Update::Set(limit) => promotion.usage_limit = Some(limit),
        }
        if self.changes_limit() {
            promotion.counters = promotion.counters.max(uses::counters_for(promotion.usage_limit));
        }
        promotion.version += 1;
        Ok(promotion)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;

    fn fields(body: Value) -> Vec<String> {
        match parse_document::<NewPromotion>(body) {
            Ok(_) => Vec::new(),
            Err(crate::foundation::error::Error::Validation(errors)) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_promotion_takes_defaults_and_normalises_its_code() {
        let new: NewPromotion = parse_document(json!({
            "name": "Ten off", "code": " summer-10 ", "kind": "fixed",
            "amounts": {"EUR": 1000, "JPY": 1000}
        }))
        .expect("valid");
        let p = new.promotion("p1".into(), Timestamp::from_unix(50));
        assert_eq!(p.code.as_deref(), Some("SUMMER-10"));
        assert!(p.active && !p.combinable);
        assert_eq!(
            (p.starts_at, p.created_at),
            (Timestamp::from_unix(50), Timestamp::from_unix(50))
        );
        assert_eq!((p.usage_limit, p.counters), (None, 16));
    }

    #[test]
    fn kinds_take_only_their_own_fields() {
        assert_eq!(fields(json!({"name": "a", "kind": "percent"})), ["percent"]);
        assert_eq!(
            fields(json!({"name": "a", "kind": "percent", "percent": "0.001"})),
            ["percent"]
        );
        assert_eq!(
            fields(json!({"name": "a", "kind": "percent", "percent": "100.01"})),
            ["percent"]
        );
        assert!(fields(json!({"name": "a", "kind": "percent", "percent": "0.01"})).is_empty());
        assert_eq!(
            fields(json!({"name": "a", "kind": "fixed", "percent": "5", "amounts": {"EUR": 1}})),
            ["percent"]
        );
        assert_eq!(
            fields(json!({"name": "a", "kind": "free_shipping", "amounts": {"EUR": 1}})),
            ["amounts"]
        );
        assert_eq!(
            fields(json!({"name": "a", "kind": "fixed", "amounts": {"KWD": 1005}})),
            ["amounts"],
            "whole steps of the currency"
        );
        assert_eq!(fields(json!({"name": "a", "kind": "other"})), ["kind"]);
    }

    #[test]
    fn dates_limits_and_targets_are_checked() {
        let base = |extra: Value| {
            let mut body = json!({"name": "a", "kind": "free_shipping"});
            for (k, v) in extra.as_object().expect("object") {
                body[k] = v.clone();
            }
            fields(body)
        };
        assert_eq!(
            base(json!({"starts_at": "2026-12-05T10:00:00Z", "ends_at": "2026-12-05T10:00:00Z"})),
            ["ends_at"]
        );
        assert!(
            base(json!({"starts_at": "2026-12-05T10:00:00Z", "ends_at": "2026-01-01T00:00:00Z"})).len() == 1
        );
        assert!(
            base(json!({"ends_at": "2020-01-01T00:00:00Z"})).is_empty(),
            "may lie in the past"
        );
        assert_eq!(base(json!({"usage_limit": 0})), ["usage_limit"]);
        assert_eq!(
            base(json!({"applies_to": {"product_ids": [], "categories": []}})),
            ["applies_to"]
        );
        assert_eq!(
            base(json!({"applies_to": {"categories": ["Shoes"]}})),
            ["applies_to.categories"]
        );
        assert!(base(json!({"applies_to": {"categories": ["shoes"]}})).is_empty());
        assert_eq!(base(json!({"markets": []})), ["markets"]);
        assert_eq!(base(json!({"code": "no spaces inside"})), ["code"]);
    }

    #[test]
    fn a_patch_keeps_ends_after_starts_and_grows_counters_with_the_limit() {
        let new: NewPromotion = parse_document(json!({
            "name": "a", "kind": "free_shipping", "usage_limit": 10
        }))
        .expect("valid");
        let p = new.promotion("p".into(), Timestamp::from_unix(100));
        assert_eq!(p.counters, 1);
        let raise: PromotionPatch = parse_document(json!({"usage_limit": 1000})).expect("valid");
        let raised = raise.apply(p.clone()).expect("valid");
        assert_eq!(
            (raised.usage_limit, raised.counters, raised.version),
            (Some(1000), 16, 2)
        );
        let lower: PromotionPatch = parse_document(json!({"usage_limit": 1})).expect("valid");
        assert_eq!(lower.apply(raised).expect("valid").counters, 16, "never fewer");
        let early: PromotionPatch =
            parse_document(json!({"ends_at": "1970-01-01T00:01:00Z"})).expect("valid");
        assert!(early.apply(p).is_err());
    }
}
